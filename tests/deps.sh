#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make deps: install every build, test and lab dependency from Debian's registry. Idempotent:
# apt runs only when a package is missing. Extra packages may be named (make bench: the peers
# it measures, bpftrace and perf).
set -e
PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
      libcmocka-dev libjson-c-dev libmicrohttpd-dev
      python3 util-linux kmod
      qemu-system-x86 linux-image-cloud-amd64 linux-headers-cloud-amd64 busybox-static cpio
      zstd xz-utils tmux chromium prometheus groff-base $*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "  DEPS     all installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "pfnscope: make deps must run as root to install:$missing" >&2
	exit 3
fi
echo "  DEPS     installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
