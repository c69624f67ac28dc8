# vfioctl — build, test, install.
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/vfioctl
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
UNITDIR ?= $(PREFIX)/lib/systemd/system
# libvirt reads its hooks from /etc whatever the prefix.
LIBVIRTHOOKDIR ?= /etc/libvirt/hooks/qemu.d
INSTALL_CONFIG ?= release
CONFIG ?= debug
BUILD_FLAGS ?= -Xswiftc -warnings-as-errors
# Release builds carry the Swift runtime inside the binary, so the installed vfioctl needs only
# libc, libstdc++ and libpci on the host (no Swift toolchain), and start-up skips loading and
# relocating the runtime's shared libraries. No $ORIGIN run path: nothing is looked up beside it.
RELEASE_FLAGS ?= --static-swift-stdlib --disable-local-rpath
BIN = .build/$(CONFIG)/vfioctl

.PHONY: all build release test unit-test completion-test vm-test install-test ansible-test deb deb-test deps man-check fmt lint install uninstall bench clean vm-kernels

all: build

# Installs what a fresh Debian machine lacks (libpci-dev, QEMU, busybox, guest kernels' tools).
deps:
	./scripts/install-deps.sh

build:
	$(SWIFT) build -c $(CONFIG) $(BUILD_FLAGS)

release:
	$(SWIFT) build -c release $(BUILD_FLAGS) $(RELEASE_FLAGS)

unit-test:
	$(SWIFT) test $(BUILD_FLAGS)

# Real-kernel suite: boots QEMU guests with an emulated IOMMU and runs Tests/vm/scenarios.
# It boots the release build, the binary users install: under TCG a debug build's start-up (the
# Swift runtime's shared libraries) costs seconds per command, and the guests run hundreds.
vm-test: release
	VFIOCTL_BIN=$(abspath .build/release/vfioctl) ./Tests/vm/run.sh

# The two guest kernels the suite builds from linux-source-6.12 (once per machine; vm-test builds
# them itself when they are missing).
vm-kernels:
	./Tests/vm/kernel/build.sh 6.12-vfio
	./Tests/vm/kernel/build.sh 6.12-cdev

# Installs into a staging DESTDIR and uninstalls again, checking every file.
install-test:
	./scripts/test-install.sh

# Runs the generated bash, zsh and fish completion scripts on a pseudo-terminal against a small
# sysfs tree and checks the TARGET candidates each shell offers.
completion-test: build
	./scripts/test-completion.sh $(BIN)

# The Ansible collection (contrib/ansible): its modules' unit tests against this build on fixture
# trees, and ansible-test sanity. ANSIBLE_SANITY=0 skips the sanity run.
ansible-test: build
	./scripts/test-ansible.sh $(BIN)

# The Debian package out/vfioctl_VERSION_ARCH.deb, from the release build (about 3 minutes here).
deb:
	./scripts/build-deb.sh out

# Builds the package and checks its file list, control fields, md5sums and lintian.
deb-test:
	./scripts/test-deb.sh

test: unit-test completion-test install-test ansible-test deb-test vm-test

INSTALL_BIN = .build/$(INSTALL_CONFIG)/vfioctl

install:
	$(SWIFT) build -c $(INSTALL_CONFIG) $(BUILD_FLAGS) $(if $(filter release,$(INSTALL_CONFIG)),$(RELEASE_FLAGS))
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LIBVIRTHOOKDIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(SBINDIR)/vfioctl
	install -m 0644 man/vfioctl.8 $(DESTDIR)$(MANDIR)/man8/vfioctl.8
	install -m 0644 dist/vfioctl.conf.example $(DESTDIR)$(DOCDIR)/vfioctl.conf.example
	$(INSTALL_BIN) --generate-completion-script bash > $(DESTDIR)$(BASHCOMPDIR)/vfioctl
	$(INSTALL_BIN) --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPDIR)/_vfioctl
	$(INSTALL_BIN) --generate-completion-script fish > $(DESTDIR)$(FISHCOMPDIR)/vfioctl.fish
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/vfioctl-apply.service > $(DESTDIR)$(UNITDIR)/vfioctl-apply.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vfioctl-apply.service
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/libvirt-qemu-hook > $(DESTDIR)$(LIBVIRTHOOKDIR)/vfioctl
	chmod 0755 $(DESTDIR)$(LIBVIRTHOOKDIR)/vfioctl
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/proxmox-hookscript.sh > $(DESTDIR)$(DOCDIR)/proxmox-hookscript.sh
	chmod 0755 $(DESTDIR)$(DOCDIR)/proxmox-hookscript.sh
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/vfioctl-watch.service > $(DESTDIR)$(UNITDIR)/vfioctl-watch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vfioctl-watch.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vfioctl $(DESTDIR)$(MANDIR)/man8/vfioctl.8 $(DESTDIR)$(DOCDIR)/vfioctl.conf.example \
		$(DESTDIR)$(BASHCOMPDIR)/vfioctl $(DESTDIR)$(ZSHCOMPDIR)/_vfioctl $(DESTDIR)$(FISHCOMPDIR)/vfioctl.fish \
		$(DESTDIR)$(UNITDIR)/vfioctl-apply.service $(DESTDIR)$(LIBVIRTHOOKDIR)/vfioctl $(DESTDIR)$(DOCDIR)/proxmox-hookscript.sh $(DESTDIR)$(UNITDIR)/vfioctl-watch.service
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# Benchmarks against lspci, fuser and lsof on this machine (bench/README.md); about 4 minutes.
# BENCH_FLAGS=--quick for a smoke run, --parts listing,holders,wait,guest to choose.
BENCH_FLAGS ?=
bench: release
	python3 bench/bench.py --bin $(abspath .build/release/vfioctl) $(BENCH_FLAGS)

man-check:
	mandoc -Tlint -Wwarning man/vfioctl.8

# swift-format (bundled with the toolchain) with the rules in .swift-format, over Package.swift,
# Sources, Tests and bench/unbind-latency. `fmt` rewrites in place; `lint` fails on any finding.
# scripts/lint.sh --changed [REF] [--fix] does the same for the files changed since REF only.
fmt:
	SWIFT=$(SWIFT) ./scripts/lint.sh --fix

lint:
	./scripts/rooms.sh
	SWIFT=$(SWIFT) ./scripts/lint.sh

clean:
	rm -rf .build
