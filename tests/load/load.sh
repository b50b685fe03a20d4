#!/usr/bin/env bash
# load.sh MEMSCOPED SUBJECT [SECONDS] - a bounded wrk run (loopback only) against every read endpoint
# at once: a Lua script rotates through health, system, the process list, one process's summary,
# maps, smaps (plain and grouped), pagemap (counts and frames), translate, the presets, the
# experiment list and a dashboard file.  Passes when wrk saw no non-2xx answer and no socket error,
# memscoped is still up, its VmRSS after the run is within 10% (+4 MiB) of before it (measured
# after a short warm-up, so first-touch growth of malloc arenas is not counted), and it stops with
# exit status 0 on SIGTERM.  In an AddressSanitizer build the RSS figures are printed, not judged:
# ASan's quarantine holds freed memory on purpose.  MEMSCOPE_LOAD_SECONDS overrides SECONDS (60).
set -euo pipefail
bin=$1 subject=$2 secs=${MEMSCOPE_LOAD_SECONDS:-${3:-60}}
tmp=$(mktemp -d /tmp/memscope-load-XXXXXX)
spid='' mpid=''
cleanup() {
  exec 3>&- 2>/dev/null || true
  [[ -n $mpid ]] && kill "$mpid" 2>/dev/null || true
  [[ -n $spid ]] && kill "$spid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  # a sanitizer report starts with its ERROR line: show that part, not just the legend at the end
  if [[ -f $tmp/server.log ]]; then
    if grep -q "ERROR: .*Sanitizer" "$tmp/server.log"; then grep -A 60 "ERROR: .*Sanitizer" "$tmp/server.log"; else tail -n 20 "$tmp/server.log"; fi
  fi
  exit 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# a subject with known memory, alive while its stdin (fd 3 here) stays open
mkfifo "$tmp/in"
"$subject" --pages 256 --write 64 --read 32 --regions 200 < "$tmp/in" > "$tmp/subject.json" &
spid=$!
exec 3> "$tmp/in"
for _ in $(seq 100); do [[ -s $tmp/subject.json ]] && break; sleep 0.1; done
area=$(grep -o '"area":"0x[0-9a-f]*"' "$tmp/subject.json" | cut -d'"' -f4)
[[ -n $area ]] || fail "the subject did not start"

mkdir "$tmp/web"
printf '<!doctype html><title>memscope</title><p>load test\n' > "$tmp/web/index.html"
"$bin" --listen 127.0.0.1:0 --threads 2 --web-dir "$tmp/web" --data-dir none 2> "$tmp/server.log" &
mpid=$!
port=''
for _ in $(seq 100); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/server.log" | grep -o '[0-9]*$' || true)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || fail "memscoped did not start"
base=http://127.0.0.1:$port

end=$(printf '0x%x' $((area + 256 * 4096)))
mid=$(printf '0x%x' $((area + 5 * 4096 + 123)))
cat > "$tmp/paths.lua" <<LUA
local paths = {
  "/api/v1/health", "/api/v1/system", "/api/v1/processes", "/api/v1/processes?sort=vm_rss&limit=20",
  "/api/v1/processes?q=memscope", "/api/v1/processes/$spid", "/api/v1/processes/$spid/maps",
  "/api/v1/processes/$spid/smaps", "/api/v1/processes/$spid/smaps?group=path",
  "/api/v1/processes/$spid/pagemap?start=$area&end=$end",
  "/api/v1/processes/$spid/pagemap?start=$area&end=$end&frames=1&limit=256",
  "/api/v1/processes/$spid/pagemap?start=$area&end=$end&method=pread",
  "/api/v1/processes/$spid/translate?addr=$mid", "/api/v1/processes/$mpid/maps",
  "/api/v1/experiments/presets", "/api/v1/experiments", "/index.html", "/",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
# every path answers 200 before the run: otherwise "no non-2xx" below would mean nothing
for p in $(grep -o '"/[^"]*"' "$tmp/paths.lua" | tr -d '"'); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base$p")
  [[ $code == 200 ]] || fail "$p answers $code before the run"
done

wrk -t2 -c8 -d5s -s "$tmp/paths.lua" "$base" > "$tmp/warmup.txt" 2>&1 || fail "wrk warm-up failed"
# memscoped hands free heap pages back a second after its last request (server/heaptrim.h): both
# readings are taken after that.
sleep 1.5
before=$(rss_kb "$mpid")
wrk -t2 -c16 -d"${secs}s" --timeout 10s -s "$tmp/paths.lua" "$base" > "$tmp/wrk.txt" 2>&1 || fail "wrk failed"
cat "$tmp/wrk.txt"
kill -0 "$mpid" 2>/dev/null || fail "memscoped died during the run"
sleep 1.5
after=$(rss_kb "$mpid")
reqs=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$tmp/wrk.txt")
non2xx=${non2xx:-0}
sockerr=$(grep -o 'Socket errors:.*' "$tmp/wrk.txt" || true)
echo "load: ${secs}s, $reqs requests, $rps requests/s, non-2xx $non2xx, ${sockerr:-no socket errors}," \
     "VmRSS before ${before} kB, after ${after} kB"
[[ $non2xx == 0 ]] || fail "$non2xx answers were not 2xx"
[[ -z $sockerr ]] || fail "socket errors: $sockerr"
[[ ${reqs:-0} -gt 0 ]] || fail "no requests were made"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/health")
[[ $code == 200 ]] || fail "health answers $code after the run"
if ldd "$bin" | grep -q libasan; then
  echo "AddressSanitizer build: VmRSS not judged (its quarantine keeps freed memory)"
else
  limit=$((before + before / 10 + 4096))
  [[ $after -le $limit ]] || fail "VmRSS grew from $before kB to $after kB (limit $limit kB)"
fi
kill -TERM "$mpid"
status=0
wait "$mpid" || status=$?
mpid=''
[[ $status == 0 ]] || fail "memscoped exited with status $status after SIGTERM"
echo "PASS"
