#!/usr/bin/env bash
# run.sh - installs what is missing, builds memscope, and runs memscoped with its dashboard on
# http://127.0.0.1:8080/ (extra arguments go to memscoped, e.g. --log-level debug).  It stays in the
# foreground, logging to the terminal: Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# No tests here: they need libcurl and friends, which only scripts/test.sh installs.
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-run -j"$(nproc)"
exec build-run/server/memscoped --listen 127.0.0.1:8080 "$@"
