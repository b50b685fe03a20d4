#!/bin/bash
# manpage.sh - memscope.1 renders cleanly and says what the program does.
#
# groff with every warning on must print none; `man -l` must render it (what users run on the
# installed page); lexgrog must find its NAME line (what mandb indexes for apropos).  And the page
# cannot drift from the program: every command `memscope --help` lists and every option of each
# command's --help must be in the page.
#   $1 = the memscope executable, $2 = memscope.1
set -euo pipefail
cli=$1 page=$2
skip() { echo "skipped, because $*"; exit 77; }
command -v groff >/dev/null || skip "groff is not installed (Debian: groff-base)"
command -v man >/dev/null || skip "man is not installed (Debian: man-db)"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || bad "groff failed"
[ -z "$warn" ] || bad "groff warns: $warn"
out=$(MANWIDTH=100 man -l "$page" 2>&1) || bad "man -l failed: $out"
grep -q '^NAME' <<<"$out" || bad "man -l rendered no NAME section"
if command -v lexgrog >/dev/null; then
    lexgrog "$page" | grep -q 'memscope - where' || bad "lexgrog finds no NAME line: $(lexgrog "$page" 2>&1)"
fi
cmds=$("$cli" --help | awk '/^  [a-z]/ {print $1}' | tr -d ,)
[ -n "$cmds" ] || bad "memscope --help lists no commands"
synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<<"$out")
for c in $cmds history diff growth get; do
    grep -q "^ *memscope $c\b" <<<"$synopsis" || bad "the page's synopsis lacks 'memscope $c'"
    for opt in $("$cli" "$c" --help | grep -o -- '--[a-z]\+' | sort -u); do
        grep -q -- "$opt" <<<"$out" || bad "'memscope $c --help' lists $opt, the page does not"
    done
done
[ $fail = 0 ] && echo "memscope.1: renders without warnings; every command and option documented"
exit $fail
