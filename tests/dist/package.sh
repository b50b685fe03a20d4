#!/bin/bash
# package.sh - the Debian package, built with `cpack -G DEB`, installs into a clean Debian 12 and
# serves from there.
#
# The package is built from its own build tree (prefix /usr, no tests) so that the paths compiled
# into the programs and written into the unit are Debian's.  Its contents are checked: the three
# programs, the dashboard, the man page, the unit, the token made at install, and dependencies from
# dpkg-shlibdeps.  Then a root file system made with `debootstrap --variant=minbase bookworm` (kept
# in $MEMSCOPE_PKG_ROOT, default /var/tmp/memscope-pkg-root, and imported once as a podman image)
# gets the package through apt, which must resolve its dependencies from the Debian mirror;
# memscoped is started from it, /api/v1/health is asked from outside, the dashboard is served, and
# the installed `memscope` works against it, with and without the token.
#
# Needs root and podman with runc (no Docker engine, no registry).  Skipped, saying why, where they
# cannot run.  Slow the first time (debootstrap, a release build): ctest label `package`.
#   $1 = the source tree, $2 = a work directory (the package's build tree goes in it)
set -euo pipefail
SRC=$1 WORK=$2
ROOT=${MEMSCOPE_PKG_ROOT:-/var/tmp/memscope-pkg-root}
IMAGE=localhost/memscope-pkg-base:bookworm
NAME=memscope-pkg-$$
T0=$(date +%s)
say() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
skip() { say "skipped, because $*"; exit 77; }
fail=0
bad() { say "FAIL: $*"; fail=1; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "it needs root (debootstrap, rootful podman)"
for c in podman runc debootstrap dpkg-shlibdeps curl; do
    command -v "$c" >/dev/null || skip "$c is not installed (scripts/deps.sh --test installs it)"
done
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# runc, not crun (which fails on this host's cgroup layout), and ulimits within the host's hard ones;
# kept to this script through CONTAINERS_CONF rather than written to /etc.
nofile=$(ulimit -Hn); { [ "$nofile" = unlimited ] || [ "$nofile" -gt 20000 ]; } && nofile=20000
nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
cat > "$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
podman info >/dev/null 2>&1 || skip "podman cannot run here: $(podman info 2>&1 | tail -n 1)"
cleanup() { podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# ---- 1. the package ----
say "building the package"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSCOPE_WERROR=ON >"$WORK/cmake.log" 2>&1 || die "cmake: $(tail -n 5 "$WORK/cmake.log")"
cmake --build "$WORK/build" -j2 >"$WORK/build.log" 2>&1 || die "build: $(tail -n 20 "$WORK/build.log")"
rm -f "$WORK"/build/memscope_*.deb
(cd "$WORK/build" && cpack -G DEB >"$WORK/cpack.log" 2>&1) || die "cpack: $(tail -n 20 "$WORK/cpack.log")"
deb=$(ls "$WORK"/build/memscope_*.deb)
say "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in ./usr/bin/memscoped ./usr/bin/memscope-lab ./usr/bin/memscope ./usr/share/memscope/web/index.html \
         ./usr/share/man/man1/memscope.1.gz ./usr/lib/systemd/system/memscoped.service \
         ./usr/share/doc/memscope/README.md; do
    grep -qx -- "$f" <<<"$contents" || bad "the package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libjansson4' <<<"$depends" && grep -q 'libc6' <<<"$depends" || bad "Depends is '$depends', want libc6 and libjansson4"
dpkg-deb -e "$deb" "$WORK/control"
[ -x "$WORK/control/postinst" ] || bad "the package has no postinst (the token)"
grep -q '^ExecStart=/usr/bin/memscoped ' <(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/lib/systemd/system/memscoped.service) ||
    bad "the packaged unit does not start /usr/bin/memscoped"

# ---- 2. a clean Debian 12, made once ----
# Inside a container without the privileges to nest one (no CAP_SYS_ADMIN, no mount namespace, or
# podman's storage unusable over the container's own overlay), the package was built and checked
# above, but it cannot be installed anywhere clean: say so before a debootstrap that would be wasted.
skip_install() { [ $fail = 0 ] || die "the package's own checks failed (above)"; skip "$@"; }
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
(( (0x$capeff >> 21) & 1 )) || skip_install "installing it needs a container, and this process lacks CAP_SYS_ADMIN (a container's default capabilities); the package itself was built and checked above"
unshare --mount --fork true 2>/dev/null || skip_install "installing it needs a container, and no mount namespace can be made here (unshare --mount failed); the package itself was built and checked above"
podman images >/dev/null 2>&1 || skip_install "installing it needs a container, and podman's storage does not work here: $(podman images 2>&1 | tail -n 1)"
if ! podman image exists "$IMAGE"; then
    if [ ! -x "$ROOT/bin/sh" ]; then
        mirror=$(apt-get indextargets --format '$(REPO_URI)' | grep -v security | grep -i debian | head -n 1)
        [ -n "$mirror" ] || die "no Debian mirror among apt's sources"
        say "debootstrap --variant=minbase bookworm $ROOT from $mirror"
        rm -rf "$ROOT.tmp"
        debootstrap --variant=minbase bookworm "$ROOT.tmp" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
            die "debootstrap: $(tail -n 5 "$WORK/debootstrap.log")"
        rm -rf "$ROOT"
        mv "$ROOT.tmp" "$ROOT"
    fi
    say "importing $ROOT as $IMAGE"
    tar -C "$ROOT" -c . | podman import -q - "$IMAGE" >/dev/null
fi

# ---- 3. installed through apt, started, asked ----
say "installing the package in a container of $IMAGE"
podman run -d --name "$NAME" --network host -v "$deb:/tmp/memscope.deb:ro" "$IMAGE" sh -c '
    set -e
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/memscope.deb >/dev/null
    exec memscoped --listen 127.0.0.1:0 --token-file /etc/memscope/token' >/dev/null
port=
for _ in $(seq 600); do
    port=$(podman logs "$NAME" 2>&1 | sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' | head -n 1)
    [ -n "$port" ] && break
    [ "$(podman inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
    sleep 0.5
done
[ -n "$port" ] || die "memscoped did not start in the container: $(podman logs "$NAME" 2>&1 | tail -n 20)"
say "memscoped from the package listens on port $port"
base=http://127.0.0.1:$port
health=$(curl -sS -m 10 "$base/api/v1/health") || bad "GET /api/v1/health failed"
grep -q '"status":"ok"' <<<"$health" && grep -q '"auth":true' <<<"$health" ||
    bad "health is '$health', want status ok with auth on (the package's token)"
curl -sS -m 10 "$base/" | grep -qi '<html' || bad "the dashboard is not served from /usr/share/memscope/web"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$base/api/v1/system")
[ "$code" = 401 ] || bad "GET /api/v1/system without the token answered $code, want 401"
podman exec "$NAME" memscope get /api/v1/health --url "$base" | grep -q '"status":"ok"' ||
    bad "the installed memscope cannot ask the installed memscoped"
podman exec "$NAME" sh -c "MEMSCOPE_TOKEN=\$(cat /etc/memscope/token) memscope get /api/v1/system --url $base" |
    grep -q '"meminfo"' || bad "memscope with the token from /etc/memscope/token was refused"
podman exec "$NAME" memscope ps --limit 3 | grep -q '^ *PID' || bad "memscope ps does not run in the container"
mode=$(podman exec "$NAME" stat -c '%a %U' /etc/memscope/token)
[ "$mode" = "600 root" ] || bad "/etc/memscope/token is '$mode', want 600 root"
[ $fail = 0 ] && say "the package installs into Debian 12 and serves /api/v1/health"
exit $fail
