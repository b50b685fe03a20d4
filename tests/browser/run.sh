#!/usr/bin/env bash
# run.sh - the dashboard's browser tests: installs what is missing (Debian's chromium and Node, the npm
# packages pinned in package-lock.json) and runs them with Node's test runner.
#   MEMSCOPE_BIN=build/server/memscoped MEMSCOPE_SUBJECT=build/tests/memscope-subject tests/browser/run.sh
# ctest sets both variables.  Screenshots land in tests/browser/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
sudo_if() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "browser tests: installing ${missing[*]}"
  sudo_if apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm ci only when the lockfile changed since the last install (or nothing is installed).
if [[ ! -f node_modules/.package-lock.json ]] || ! cmp -s package-lock.json node_modules/.memscope-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.memscope-lock
fi
: "${MEMSCOPE_BIN:?set MEMSCOPE_BIN to the built memscoped}"
: "${MEMSCOPE_SUBJECT:?set MEMSCOPE_SUBJECT to the built memscope-subject}"
exec node --test --test-concurrency=1 dashboard.test.mjs containers.test.mjs scale.test.mjs history.test.mjs
