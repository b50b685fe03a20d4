#!/bin/bash
# bench/run.sh [--short]: memscope's benchmark.  Builds what it needs (Release, in
# build-bench/), runs everything on loopback and writes the table; see bench/README.md.
# Debian's /usr/bin/python3 on purpose: its psutil is the peer being measured, the one Glances uses.
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
