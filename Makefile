# vfioctl — build, test, install.
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
CONFIG ?= debug
BUILD_FLAGS ?= -Xswiftc -warnings-as-errors
BIN = .build/$(CONFIG)/vfioctl

.PHONY: all build release test unit-test vm-test deps man-check bench clean

all: build

# Installs what a fresh Debian machine lacks (libpci-dev, QEMU, busybox, guest kernels' tools).
deps:
	./scripts/install-deps.sh

build:
	$(SWIFT) build -c $(CONFIG) $(BUILD_FLAGS)

release:
	$(SWIFT) build -c release $(BUILD_FLAGS)

unit-test:
	$(SWIFT) test $(BUILD_FLAGS)

# Real-kernel suite: boots QEMU guests with an emulated IOMMU and runs Tests/vm/scenarios.
vm-test: build
	VFIOCTL_BIN=$(abspath $(BIN)) ./Tests/vm/run.sh

test: unit-test vm-test

# Benchmarks against lspci, fuser and lsof on this machine (bench/README.md); about 5-10 minutes.
# BENCH_FLAGS=--quick for a smoke run, --parts listing,holders,wait,guest to choose.
BENCH_FLAGS ?=
bench: release
	python3 bench/bench.py --bin $(abspath .build/release/vfioctl) $(BENCH_FLAGS)

man-check:
	mandoc -Tlint -Wwarning man/vfioctl.8

clean:
	rm -rf .build
