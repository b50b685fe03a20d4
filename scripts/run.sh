#!/usr/bin/env bash
# run.sh - installs what is missing, builds memscope, and runs memscoped with its dashboard on
# http://127.0.0.1:8080/ (extra arguments go to memscoped, e.g. --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/server/memscoped --listen 127.0.0.1:8080 "$@"
