#!/bin/bash
# systemd.sh - memscoped.service passes `systemd-analyze verify` and keeps its hardening.
#
# verify needs no running systemd (it loads the unit offline), but checks that ExecStart= is an
# executable and that the man: page in Documentation= exists: so the unit is checked as CMake
# configured it, with ExecStart= pointed at the memscoped just built and MANPATH at memscope.1.
# `systemd-analyze security --offline` must rate it below 4.0 ("OK"): a setting dropped from the
# unit shows there.  And the settings the README promises are each present.
#   $1 = the configured unit, $2 = the memscoped executable, $3 = memscope.1
set -euo pipefail
unit=$1 bin=$2 page=$3
skip() { echo "skipped, because $*"; exit 77; }
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian: systemd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man1"
cp "$page" "$tmp/man/man1/"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
sed "s|^ExecStart=$exec_start|ExecStart=$bin|" "$unit" > "$tmp/memscoped.service"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

out=$(MANPATH=$tmp/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$tmp/memscoped.service" 2>&1) ||
    bad "systemd-analyze verify: $out"
[ -z "$out" ] || bad "systemd-analyze verify printed: $out"
for want in 'ProtectSystem=strict' 'ProtectHome=yes' 'NoNewPrivileges=yes' 'StateDirectory=memscope' \
            'LoadCredential=token:/etc/memscope/token' \
            'CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_ADMIN CAP_SYSLOG'; do
    grep -qx "$want" "$unit" || bad "the unit lacks $want"
done
sec=$(systemd-analyze security --offline=true "$tmp/memscoped.service" 2>&1 | grep 'Overall exposure level') ||
    bad "systemd-analyze security gave no rating"
level=$(grep -o 'level for memscoped.service: [0-9.]*' <<<"$sec" | awk '{print $NF}')
awk -v l="${level:-99}" 'BEGIN { exit !(l < 4.0) }' || bad "exposure level ${level:-?}, want below 4.0"
[ $fail = 0 ] && echo "memscoped.service: verify clean; exposure level $level"
exit $fail
