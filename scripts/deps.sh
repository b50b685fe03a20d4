#!/usr/bin/env bash
# deps.sh - installs, on Debian 12, what memscope needs to build and (with --test) to run its tests.
# Only what is missing is installed (and libmicrohttpd built), so a second run costs a second.
set -euo pipefail

# No libmicrohttpd-dev: memscoped links a TLS-less libmicrohttpd that scripts/mhd.sh (run below)
# builds from Debian's source package, which needs dpkg-dev, xz-utils and Debian's archive key.
want=(build-essential cmake pkg-config libjansson-dev dpkg-dev xz-utils debian-archive-keyring)
# SQLite: the history store (store/).
want+=(libsqlite3-dev)
if [[ "${1:-}" == "--test" ]]; then
  # libcurl: integration client; python3-psutil and procps (pmap): independent readers for
  # cross-checks; chromium + nodejs/npm: browser tests; clang: fuzzers; prometheus: promtool.
  # wrk, smem, glances: the peers and load tools of the benchmark (bench/), whose short form runs
  # in the suite.
  want+=(libcurl4-openssl-dev python3-psutil procps clang chromium prometheus curl xz-utils wrk smem glances)
  # groff-base, man-db: memscope.1 rendered (dist.manpage); systemd: systemd-analyze verify of the
  # unit (dist.systemd), which needs no running systemd; podman, runc, debootstrap: the Debian
  # package installed into a clean Debian 12 container (dist.package); file: CPack's dpkg-shlibdeps step.
  want+=(groff-base man-db systemd podman runc debootstrap file)
  # What --no-install-recommends leaves out and the tests need: Glances' web server (bottle),
  # clang's sanitizer and libFuzzer runtimes (the fuzz build), and the CA certificates npm needs
  # to fetch the browser tests' packages over https.
  want+=(python3-bottle libclang-rt-14-dev ca-certificates)
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$(dirname "$0")"/mhd.sh
