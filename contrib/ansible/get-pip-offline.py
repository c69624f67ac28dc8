# ansible-test bootstraps pip in each virtual environment it makes by running a get-pip.py script
# it downloads from its own file server, which this build does not reach. This stands in for that
# script: it takes the same arguments (pip's install options and the pip version to install),
# installs the pip bundled with Python (ensurepip), and has it install the requested packages from
# the package index. scripts/test-ansible.sh puts it where ansible-test looks for its cached copy.
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
