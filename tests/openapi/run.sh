#!/usr/bin/env bash
# run.sh - checks server/openapi.json with real tools from npm (pinned in package-lock.json):
#   run.sh lint              Redocly's recommended rules (redocly.yaml says which two are off, why)
#   run.sh answers BIN...    runs the integration test binaries BIN... with MEMSCOPE_DUMP_ANSWERS set,
#                            then validates every JSON answer they received against the document (ajv,
#                            JSON Schema 2020-12); first proves the validator rejects a renamed field.
# Exits 77 (ctest: skipped) with the reason when node/npm or the npm registry is unavailable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
doc="$here/../../server/openapi.json"
skip() { echo "skipped, because $*"; exit 77; }
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
# npm ci only when the lockfile changed since the last install (or nothing is installed).  ctest
# starts `lint` and `answers` side by side: npm ci first deletes node_modules, so one run's install
# would pull the packages from under the other's.  The lock makes the second wait for the first and
# then find everything installed.
exec 9>"$here/.install.lock"
flock 9
if [[ ! -f "$here/node_modules/.package-lock.json" ]] || ! cmp -s "$here/package-lock.json" "$here/node_modules/.memscope-lock"; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || skip "npm ci failed (no registry access?)"
  cp "$here/package-lock.json" "$here/node_modules/.memscope-lock"
fi
flock -u 9
exec 9>&-
mode="${1:-}"
shift || true
case "$mode" in
lint)
  cd "$here"
  exec ./node_modules/.bin/redocly lint --config redocly.yaml "$doc"
  ;;
answers)
  (($#)) || { echo "usage: run.sh answers ITEST_BINARY..."; exit 2; }
  dump="$(mktemp -d)"
  trap 'rm -rf "$dump"' EXIT
  export MEMSCOPE_DUMP_ANSWERS="$dump"
  for t in "$@"; do
    echo "== $(basename "$t")"
    # A skipped test (77) dumps what it got until then; anything else but success fails.
    rc=0
    (cd "$(dirname "$t")" && "$t" >"$dump.log" 2>&1) || rc=$?
    # all of a failing test's output (its own lines say what it measured), the summary otherwise
    if [[ $rc -eq 0 || $rc -eq 77 ]]; then tail -n 3 "$dump.log"; else tail -n 200 "$dump.log"; fi
    rm -f "$dump.log"
    [[ $rc -eq 0 || $rc -eq 77 ]] || { echo "$(basename "$t") failed (exit $rc)"; exit 1; }
  done
  unset MEMSCOPE_DUMP_ANSWERS
  # The validator must catch a renamed field: rename the first member of one 200 answer's object.
  probe="$(mktemp -d)"
  trap 'rm -rf "$dump" "$probe"' EXIT
  node -e '
    const fs = require("fs"), [src, dst] = process.argv.slice(1);
    for (const f of fs.readdirSync(src).sort()) {
      const a = JSON.parse(fs.readFileSync(src + "/" + f, "utf8"));
      if (a.status !== 200 || !a.path.startsWith("/api/v1/health")) continue;
      const [k] = Object.keys(a.body);
      a.body[k + "_renamed"] = a.body[k]; delete a.body[k];
      fs.writeFileSync(dst + "/" + f, JSON.stringify(a)); process.exit(0);
    }
    process.exit(1);' "$dump" "$probe" || { echo "no 200 answer of /api/v1/health was dumped"; exit 1; }
  if node "$here/validate.mjs" "$doc" "$probe" >/dev/null; then
    echo "the validator accepted an answer with a renamed field"; exit 1
  fi
  exec node "$here/validate.mjs" "$doc" "$dump"
  ;;
*)
  echo "usage: run.sh lint | run.sh answers ITEST_BINARY..."; exit 2
  ;;
esac
