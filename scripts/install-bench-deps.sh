#!/bin/sh
# Installs what `make bench` needs on top of scripts/install-deps.sh: torchvision (its
# quantizable ResNet / MobileNet-V2 models are the PyTorch int8 peer in bench/RESULTS.md) and
# wrk (the HTTP load generator that drives f8d in bench/daemon/run.py).
# `make test` does not need any of this. Idempotent.
set -eu

PACKAGES="
python3-torch
python3-torchvision
python3-numpy
wrk
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-bench-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
