# lib.sh - sourced by the bench scripts that start processes: a temporary directory ($tmp) and the
# processes started ($pids), all gone when the script ends however it ends; and processes that hold
# still for as long as the script runs.
tmp=$(mktemp -d)
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap bench_cleanup EXIT

# hold_still BUILD_DIR N: N memscope-history-subject processes doing nothing (their stdin is a pipe
# that stays open until the end).
hold_still() {
  mkfifo "$tmp/hold"
  exec 3<>"$tmp/hold"
  for _ in $(seq "$2"); do
    "$1/tests/memscope-history-subject" flat <&3 >/dev/null &
    pids+=($!)
  done
}
