#!/bin/sh
# What `make bench` needs on top of `make test`'s packages (see install-deps.sh --bench).
exec "$(dirname "$0")/install-deps.sh" --bench
