#!/bin/sh
# Installs the Debian 12 packages f8serve needs to build, run, train and test.
# Idempotent: packages already installed are skipped, so `make run` / `make test`
# cost nothing extra on a prepared machine.
#
#   scripts/install-deps.sh           what `make run`, `make test` and `make model` need
#   scripts/install-deps.sh --bench   also what `make bench` needs: torchvision (its quantizable
#                                     models are the PyTorch int8 peer) and wrk (HTTP load)
set -eu

PACKAGES="
build-essential
pkg-config
man-db
curl
libuv1-dev
libmicrohttpd-dev
libgnutls28-dev
openssl
libturbojpeg0-dev
libjansson-dev
libsystemd-dev
libcunit1-dev
clang
libclang-rt-14-dev
python3
python3-numpy
python3-torch
python3-pytest
python3-pil
python3-torchvision
python3-tqdm
python3-matplotlib
dataset-fashion-mnist
libgrpc-dev
zlib1g-dev
libprotobuf-c-dev
protobuf-c-compiler
python3-grpcio
python3-grpc-tools
python3-yaml
chromium
chromium-driver
python3-selenium
"

BENCH_PACKAGES="
python3-torchvision
wrk
"

case "${1:-}" in
    "") ;;
    --bench) PACKAGES="$PACKAGES $BENCH_PACKAGES" ;;
    *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg (unattended-upgrades, a second `make test`) may hold the locks: wait for
# them up to 10 minutes instead of failing (apt >= 1.9.11; the update waits on the lists lock,
# the install on dpkg's).
LOCK_WAIT="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
$SUDO apt-get $LOCK_WAIT update -q
# shellcheck disable=SC2086
$SUDO apt-get $LOCK_WAIT install -y -q --no-install-recommends $missing
