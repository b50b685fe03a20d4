#!/usr/bin/env bash
# run.sh FUZZER FIXTURES_DIR SECONDS WORKDIR - seeds a corpus from the recorded fixtures and fuzzes
# for SECONDS.  Any crash fails the test; its input is kept in WORKDIR/crashes for a regression test.
set -euo pipefail
fuzzer=$1 fixtures=$2 secs=$3 work=$4
name=$(basename "$fuzzer")
corpus=$work/$name-corpus
mkdir -p "$corpus" "$work/crashes"
if [[ $name == fuzz_proc ]]; then
  # The first byte selects the parser (see fuzz_proc.c): 0 maps, 1 smaps, 2 status, 3 stat, 4 meminfo.
  i=0
  while IFS= read -r -d '' f; do
    case $(basename "$f") in
      maps*) sel='\x00' ;; smaps*) sel='\x01' ;; status*) sel='\x02' ;; stat) sel='\x03' ;;
      meminfo*) sel='\x04' ;; *) continue ;;
    esac
    # big fixtures make slow seeds: the first 64 KiB carry every shape the parser meets
    { printf "$sel"; head -c 65536 "$f"; } > "$corpus/seed-$i"
    i=$((i + 1))
  done < <(find "$fixtures" -type f -print0)
else
  for s in 4096 64KiB 1GiB 0x7ffd1000 0x 1234 -1 0 18446744073709551616 16k 2MB; do
    printf '%s' "$s" > "$corpus/seed-$s"
  done
fi
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
  -artifact_prefix="$work/crashes/$name-" -print_final_stats=1 "$corpus" 2>&1 | tail -n 25
