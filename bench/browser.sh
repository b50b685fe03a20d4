#!/bin/bash
# bench/browser.sh: the dashboard's benchmark in headless Chromium (bench/browser.mjs), written into
# the "Dashboard in the browser" section of bench/RESULTS.md (the server's figures there are left as
# they are) and bench/RESULTS-browser.json.  Builds memscoped and memscope-subject into build/ if
# they are missing; uses the playwright-core that tests/browser/run.sh installs.
#   bench/browser.sh            every scenario
#   BENCH_ONLY=r10000,list bench/browser.sh
# A partial run (BENCH_ONLY) prints its table and leaves the recorded results alone: it would
# otherwise replace a full run's section with the few scenarios it ran.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${MEMSCOPE_BIN:-$root/build/server/memscoped}
subj=${MEMSCOPE_SUBJECT:-$root/build/tests/memscope-subject}
if [[ ! -x $bin || ! -x $subj ]]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j2 --target memscoped memscope-subject >/dev/null
fi
if [[ ! -d $root/tests/browser/node_modules/playwright-core ]]; then
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ -n ${BENCH_ONLY:-} ]]; then
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  MEMSCOPE_BIN=$bin MEMSCOPE_SUBJECT=$subj node "$here/browser.mjs" > "$out"
  node "$here/browser.mjs" --table "$out"
  exit 0
fi
MEMSCOPE_BIN=$bin MEMSCOPE_SUBJECT=$subj node "$here/browser.mjs" > "$here/RESULTS-browser.json"
node "$here/browser.mjs" --table "$here/RESULTS-browser.json" > "$here/.browser-section.md"
python3 - "$here/RESULTS.md" "$here/.browser-section.md" <<'PY'
import sys
res, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(res).read()
head = '## Dashboard in the browser'
if head in text:
    a = text.index(head)
    b = text.find('\n## ', a + len(head))
    text = text[:a] + sec + (text[b + 1:] if b >= 0 else '')
else:
    text = text.rstrip('\n') + '\n\n' + sec
open(res, 'w').write(text)
PY
rm -f "$here/.browser-section.md"
echo "bench/RESULTS.md: section '## Dashboard in the browser' written"
