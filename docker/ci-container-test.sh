#!/bin/bash
# ci-container-test.sh - builds memscope's container image with podman, with no registry, and checks
# that it serves host processes and stops at once.
#
# Runs as root on a Debian 12 machine (CI starts it on a fresh one).  No Docker engine and no
# registry are needed: the Debian base images are made here with debootstrap from the apt mirror
# this machine already uses, and imported under the names the Dockerfile's FROM lines ask for, so
# the build runs with --pull=never.  The rootfs tarball is cached in $CACHE, so a second run skips
# debootstrap, and podman's layer cache skips the builder's apt-get.
#
# What it checks: the image builds; its programs load only libc and libjansson (no GnuTLS); run
# with --pid=host and only CAP_SYS_PTRACE it answers /api/v1/health (and its HEALTHCHECK passes)
# and the /maps of a process started on the host; a request without the token gets 401; `podman
# stop` ends it within 2 s (both with --pid=host and as PID 1 of its own pid namespace).
#
# Environment: MEMSCOPE_CI_CACHE (default /var/cache/memscope-ci), MEMSCOPE_CI_IMAGE
# (default localhost/memscope:ci), MEMSCOPE_CI_PORT (default 18080), MEMSCOPE_CI_KEEP_IMAGE=1 to
# keep the built image.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MEMSCOPE_CI_CACHE:-/var/cache/memscope-ci}
IMAGE=${MEMSCOPE_CI_IMAGE:-localhost/memscope:ci}
PORT=${MEMSCOPE_CI_PORT:-18080}
NAME=memscope-ci-$$
TOKEN=ci-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
T_START=$(date +%s)

say() { printf '[%4ds] %s\n' "$(($(date +%s) - T_START))" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (podman rootful, debootstrap)"

# Inside a container without the privileges to nest one (podman's default capabilities lack
# CAP_SYS_ADMIN: no mount namespace, no mount of /proc for debootstrap), nothing here can run:
# say so and exit 77, which ctest reports as skipped, before installing 1.7 GB of tools for nothing.
skip() { say "SKIPPED, because $*"; exit 77; }
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
(( (0x$capeff >> 21) & 1 )) || skip "this process lacks CAP_SYS_ADMIN (a container's default capabilities): podman and debootstrap cannot run here"
unshare --mount --fork true 2>/dev/null || skip "no new mount namespace can be made here (unshare --mount failed): podman cannot run here"

SUBJ_PID=
cleanup() {
    [ -n "$SUBJ_PID" ] && kill "$SUBJ_PID" 2>/dev/null || true
    podman rm -f -t 0 "$NAME" "$NAME-pid1" >/dev/null 2>&1 || true
    if [ "${MEMSCOPE_CI_KEEP_IMAGE:-0}" != 1 ]; then podman rmi -f "$IMAGE" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# ---- 1. packages ----
need=()
for p in podman buildah debootstrap runc curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi

# ---- 2. podman configuration, kept to this script (CONTAINERS_CONF) rather than /etc ----
# crun (podman's default) fails on this host's cgroup layout; runc works.  The default ulimits must
# not exceed the host's hard limits or runc fails setting them.
mkdir -p "$CACHE"
hard_cap() { # $1 = ulimit flag, $2 = the most we want
    local h; h=$(ulimit -H "$1")
    if [ "$h" = unlimited ] || [ "$h" -gt "$2" ]; then echo "$2"; else echo "$h"; fi
}
NOFILE=$(hard_cap -n 20000)
NPROC=$(hard_cap -u 32768)
cat > "$CACHE/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$CACHE/containers.conf"

# ---- 3. base images from the configured Debian mirror ----
# The first main-archive URI apt uses (deb822 .sources or one-line .list), skipping security.
mirror=$(
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}'
    } | grep -v -e security -e '^$' | grep -i debian | head -n 1
) || true
[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list{,.d/}"
# Made once and cached: bookworm (minbase plus the apt settings of Debian's official images) and
# bookworm-slim (the same, slimmed as the official slim images are: no docs but copyright files,
# no man pages, no locales, and dpkg told to keep it so).  Bump the version to remake them.
BASE_V=2
tar_of() { echo "$CACHE/debian-$1-v$BASE_V.tar"; }
if [ ! -s "$(tar_of bookworm)" ] || [ ! -s "$(tar_of bookworm-slim)" ]; then
    say "debootstrap --variant=minbase bookworm from $mirror (once; cached in $CACHE)"
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
        { tail -20 "$CACHE/debootstrap.log"; rm -rf "$dir"; fail "debootstrap"; }
    # As the official images: apt keeps no .debs or package caches, fetches no translations.
    cat > "$dir/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' > "$dir/etc/apt/apt.conf.d/docker-no-languages"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/* \
           "$dir"/var/log/*.log "$dir"/tmp/*
    : > "$dir/etc/machine-id"
    tar -C "$dir" --numeric-owner -cf "$(tar_of bookworm).tmp" .
    cat > "$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
DPKG
    find "$dir/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$dir"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
    tar -C "$dir" --numeric-owner -cf "$(tar_of bookworm-slim).tmp" .
    mv "$(tar_of bookworm).tmp" "$(tar_of bookworm)"
    mv "$(tar_of bookworm-slim).tmp" "$(tar_of bookworm-slim)"
    rm -rf "$dir"
fi
for tag in bookworm bookworm-slim; do
    ref=docker.io/library/debian:$tag
    # Re-import when the cached tarball is newer than the image (a remade base).
    if ! podman image exists "$ref" ||
        [ "$(podman image inspect -f '{{.Labels.memscope_base}}' "$ref" 2>/dev/null)" != "v$BASE_V" ]; then
        say "importing $ref"
        podman import --change 'CMD ["bash"]' --change "LABEL memscope_base=v$BASE_V" "$(tar_of "$tag")" "$ref" \
            >/dev/null 2>>"$CACHE/podman.log"
    fi
done

# ---- 4. the image ----
say "building $IMAGE"
# --format docker: the OCI format has no HEALTHCHECK.  --network=host: the build's apt-get reaches
# the mirror exactly as the host does (its /etc/hosts and proxies included).
t0=$(date +%s)
podman build --pull=never --format docker --network=host -f "$REPO/docker/Dockerfile" -t "$IMAGE" "$REPO" \
    >"$CACHE/build.log" 2>&1 || { tail -40 "$CACHE/build.log"; fail "podman build (log: $CACHE/build.log)"; }
say "built in $(($(date +%s) - t0)) s; $(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"
bins=$(podman run --rm --entrypoint /bin/ls "$IMAGE" /usr/local/bin 2>>"$CACHE/podman.log")
echo "$bins" | grep -qx memscoped || fail "memscoped not in the image"
echo "$bins" | grep -qx memscope-lab || say "WARNING: memscope-lab not in the image (lab/ has no install rule yet?)"
# What the programs load inside the image: libc and libjansson, never libmicrohttpd.so or GnuTLS
# (libmicrohttpd is linked in, built without TLS by scripts/mhd.sh).
for b in memscoped memscope-lab; do
    echo "$bins" | grep -qx "$b" || continue
    libs=$(podman run --rm --entrypoint /usr/bin/ldd "$IMAGE" "/usr/local/bin/$b" 2>>"$CACHE/podman.log") ||
        fail "ldd /usr/local/bin/$b in the image"
    grep -q 'not found' <<<"$libs" && fail "$b misses libraries in the image: $libs"
    grep -Eq 'microhttpd|gnutls' <<<"$libs" && fail "$b loads libmicrohttpd.so or GnuTLS: $libs"
    say "$b loads: $(awk '/=>/ {printf "%s ", $1}' <<<"$libs")"
done
podman run --rm --entrypoint /bin/ls "$IMAGE" /usr/local/share/memscope/web >/dev/null 2>>"$CACHE/podman.log" ||
    say "WARNING: no dashboard in the image (/usr/local/share/memscope/web)"

# ---- 5. run it next to a host process ----
sleep 600 &
SUBJ_PID=$!
say "running with --pid=host, caps ALL dropped but SYS_PTRACE, read-only, on 127.0.0.1:$PORT"
podman run -d --name "$NAME" --pid=host --cap-drop=ALL --cap-add=SYS_PTRACE --read-only \
    --security-opt no-new-privileges -p "127.0.0.1:$PORT:8080" -e MEMSCOPE_TOKEN="$TOKEN" "$IMAGE" \
    >/dev/null 2>>"$CACHE/podman.log"
url=http://127.0.0.1:$PORT
for _ in $(seq 50); do
    curl -fsS -o /dev/null "$url/api/v1/health" 2>/dev/null && break
    sleep 0.1
done
health=$(curl -fsS "$url/api/v1/health") || { podman logs "$NAME"; fail "GET /api/v1/health"; }
say "health: $health"
# (Without systemd podman cannot schedule the check, and says so in podman.log; running it works.)
podman healthcheck run "$NAME" >/dev/null 2>>"$CACHE/podman.log" || fail "the image's HEALTHCHECK failed"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/processes/$SUBJ_PID/maps")
[ "$code" = 401 ] || fail "/maps without the token answered $code, not 401"
maps=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$url/api/v1/processes/$SUBJ_PID/maps") ||
    { podman logs "$NAME"; fail "GET /maps of host pid $SUBJ_PID"; }
sleep_bin=$(readlink -f "/proc/$SUBJ_PID/exe")
grep -q "\"$sleep_bin\"" <<<"$maps" || fail "the maps of host pid $SUBJ_PID do not name $sleep_bin: ${maps:0:300}"
say "maps of host pid $SUBJ_PID: $(grep -o '"start"' <<<"$maps" | wc -l) regions, $sleep_bin among them"

# ---- 6. stop at once ----
stop_check() { # $1 = container
    local t0 t1 ms rc
    t0=$(date +%s%N)
    podman stop -t 10 "$1" >/dev/null 2>>"$CACHE/podman.log"
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    rc=$(podman inspect -f '{{.State.ExitCode}}' "$1")
    say "$1 stopped in $ms ms, exit code $rc"
    [ "$ms" -lt 2000 ] || fail "$1 took $ms ms to stop (SIGTERM not handled?)"
    [ "$rc" = 0 ] || { podman logs "$1" | tail -5; fail "$1 exited with $rc"; }
    podman rm "$1" >/dev/null 2>>"$CACHE/podman.log"
}
stop_check "$NAME"
# In its own pid namespace memscoped is PID 1, which the kernel shields from default-action signals.
podman run -d --name "$NAME-pid1" --cap-drop=ALL --read-only -e MEMSCOPE_TOKEN="$TOKEN" "$IMAGE" \
    >/dev/null 2>>"$CACHE/podman.log"
for _ in $(seq 50); do
    podman exec "$NAME-pid1" /usr/local/libexec/memscope/healthcheck 2>/dev/null && break
    sleep 0.1
done
[ "$(podman exec "$NAME-pid1" cat /proc/1/comm)" = memscoped ] || fail "memscoped is not PID 1"
stop_check "$NAME-pid1"

say "PASS (total $(($(date +%s) - T_START)) s)"
