#!/bin/sh
# Tests the Ansible collection in contrib/ansible/ansible_collections/vfioctl/vfio: its unit tests
# (pytest, the modules run in-process against the real vfioctl on fixture trees) and
# `ansible-test sanity` (documentation, argument specs, pylint, pep8, yamllint, imports, ...).
#
#   scripts/test-ansible.sh [VFIOCTL_BIN]      (default .build/debug/vfioctl)
#   ANSIBLE_SANITY=0 scripts/test-ansible.sh   unit tests only
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
bin=${1:-.build/debug/vfioctl}
case $bin in /*) ;; *) bin=$repo/$bin ;; esac
collection=$repo/contrib/ansible/ansible_collections/vfioctl/vfio
python=${PYTHON:-python3}

[ -x "$bin" ] || { echo "test-ansible: no vfioctl binary at $bin" >&2; exit 1; }
$python -c 'import ansible, pytest' 2>/dev/null || { echo "test-ansible: ansible-core or pytest missing: run make deps" >&2; exit 1; }

echo "== unit tests (pytest, $($python -c 'import ansible; print("ansible-core", ansible.__version__)'))"
cd "$collection/tests/unit"
VFIOCTL_BIN=$bin PYTHONPATH=$repo/contrib/ansible:$PWD $python -m pytest -q -p no:cacheprovider .
[ "${ANSIBLE_SANITY:-1}" = 1 ] || exit 0

echo "== ansible-test sanity"
# The pip bootstrap script ansible-test would download for its virtual environments (see
# contrib/ansible/get-pip-offline.py), under the name it looks for.
pip_version=$($python -c 'from ansible_test._internal.python_requirements import get_venv_packages
from types import SimpleNamespace
print(get_venv_packages(SimpleNamespace(version="3"))["pip"])')
cache=$HOME/.ansible/test/cache/get_pip_$(echo "$pip_version" | tr . _).py
if ! cmp -s "$repo/contrib/ansible/get-pip-offline.py" "$cache"; then
    mkdir -p "$(dirname "$cache")"
    cp "$repo/contrib/ansible/get-pip-offline.py" "$cache"
fi
cd "$collection"
py=$($python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible_test=$(dirname "$($python -c 'import sys; print(sys.executable)')")/ansible-test
[ -x "$ansible_test" ] || ansible_test=ansible-test
"$ansible_test" sanity --python "$py" --color no
rm -rf "$collection/tests/output"
