# The README's commands: `make demo` (the main job on a built-in sample) and
# `make test`.  Both install what they need first: Debian packages, then a
# virtual environment at .venv/ that also sees Debian's guestfs binding.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
APT_PACKAGES := qemu-utils qemu-system-x86 libguestfs-tools python3-guestfs linux-image-$(ARCH) \
	debootstrap python3-venv python3-pip cpio zstd lz4 xz-utils bzip2 e2fsprogs fdisk \
	ntfs-3g dosfstools lvm2 cryptsetup genisoimage chromium libhivex-bin
DEMO_DIR ?= .cache/demo

.PHONY: setup system-deps demo test test-fast bench clean

setup: $(STAMP)

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml | system-deps
	@[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,batch]'
	$(PY) -c 'import guestfs' || { echo "the venv cannot import Debian's guestfs binding (python3-guestfs)"; exit 2; }
	touch $(STAMP)

demo: setup
	$(PY) -m fixtures.demo $(DEMO_DIR)

test: setup
	$(VENV)/bin/pytest

test-fast: setup
	$(VENV)/bin/pytest -m 'not slow'

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) .cache .pytest_cache
