#!/usr/bin/env bash
# mhd.sh - builds the libmicrohttpd that memscoped links: Debian bookworm's own source package (with
# Debian's patches and hardening flags), configured without HTTPS, as a static library installed
# into .deps/libmicrohttpd-notls/ (git ignores it).  CMake prefers it over the system library.
#
# Why: Debian's libmicrohttpd12 is built with GnuTLS, and loading it maps libgnutls, libp11-kit,
# libnettle, libhogweed, libgmp, libtasn1, libunistring, libidn2 and libffi into memscoped: about
# 2.5 MiB of its 4.6 MiB idle resident memory, for TLS it never speaks (a reverse proxy does).
#
# The version: the highest that bookworm ships now, security updates included (bookworm-security,
# then bookworm-updates and bookworm: their deb-src indexes, highest version wins), so a point
# release or a security fix reaches memscoped with the next set-up.  If the source cannot be had
# (no network, no deb-src index), it falls back to Debian's libmicrohttpd-dev with a clear warning
# and records why in $PREFIX/.memscope-fallback: CMake then links the system library and
# integration.linkage reports itself skipped with that reason instead of failing.
#
# Fixes of our own: the patches in scripts/mhd-patches/ (each says what and why at its top) are
# applied after Debian's.  One that does not apply to the version picked (a newer one that has the
# fix already) is left out with a clear message, not an error; $PREFIX/.memscope-patches lists
# what was applied and what was not.  The system-library fallback carries none of them.
#
# Idempotent: a stamp records the version, the configure line and the patches' checksum.  Once built, the archive is
# asked again for a newer version at most once a day (MEMSCOPE_MHD_REFRESH=1: now); offline, the
# build at hand is kept.  The system's apt configuration is left alone: the deb-src indexes go to
# a scratch directory.  Needs dpkg-dev (dpkg-source, dpkg-buildflags), xz-utils and a C compiler,
# which scripts/deps.sh installs before calling this.
#   MEMSCOPE_MHD_PREFIX              where to install (default: <repo>/.deps/libmicrohttpd-notls)
#   MEMSCOPE_DEBIAN_MIRROR           the Debian archive (default: the one apt already uses)
#   MEMSCOPE_DEBIAN_SECURITY_MIRROR  the security archive (default: the one apt already uses)
#   MEMSCOPE_MHD_VERSION             build exactly this version instead of the highest
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${MEMSCOPE_MHD_PREFIX:-$REPO/.deps/libmicrohttpd-notls}
# Everything memscoped does not use is off: TLS above all, and the curl test suite, docs, examples
# and the shared library.
CONFIGURE=(--disable-https --without-gnutls --disable-curl --disable-doc --disable-examples
           --disable-shared --enable-static --with-pic)
STAMP=$PREFIX/.memscope-stamp
FALLBACK=$PREFIX/.memscope-fallback
PATCHES=$PREFIX/.memscope-patches
shopt -s nullglob
PATCH_FILES=("$REPO"/scripts/mhd-patches/*.patch)
shopt -u nullglob
# A changed, added or removed patch changes the stamp, so the next run rebuilds.
if ((${#PATCH_FILES[@]})); then
  PATCH_SUM=$(cd "$REPO/scripts/mhd-patches" && sha256sum -- *.patch | sha256sum | cut -c1-16)
else
  PATCH_SUM=none
fi

say() { echo "mhd: $*"; }
die() { echo "mhd: ERROR: $*" >&2; exit 1; }
built() { [[ -f $STAMP && -f $PREFIX/lib/libmicrohttpd.a ]]; }
stamp_for() { echo "libmicrohttpd $1 ${CONFIGURE[*]} patches=$PATCH_SUM"; }
# The stamp of a build made with today's configure line and patches, of whichever version.
stamp_current() { built && [[ "$(cat "$STAMP")" == "libmicrohttpd "*" ${CONFIGURE[*]} patches=$PATCH_SUM" ]]; }
# A TLS-less build with today's configure line but older patches (or none): kept when offline.
stamp_usable() { built && [[ "$(cat "$STAMP")" == "libmicrohttpd "*" ${CONFIGURE[*]}"* ]]; }

# The source cannot be had: the build at hand if there is one, else Debian's libmicrohttpd-dev.
fallback() {
  if stamp_current; then
    say "WARNING: $1; keeping the TLS-less build at hand ($(cut -d' ' -f2 "$STAMP"))"
    exit 0
  fi
  if stamp_usable; then
    say "WARNING: $1; keeping the TLS-less build at hand ($(cut -d' ' -f2 "$STAMP")), which was built" \
        "without today's scripts/mhd-patches: run scripts/mhd.sh again when the archive is reachable"
    exit 0
  fi
  echo "mhd: WARNING: $1." >&2
  echo "mhd: WARNING: falling back to Debian's libmicrohttpd-dev: it links GnuTLS (about 2.5 MiB more" \
       "resident memory in memscoped); integration.linkage will say skipped.  Run scripts/mhd.sh" \
       "again when the archive is reachable." >&2
  if ! dpkg-query -W -f='${Status}' libmicrohttpd-dev 2>/dev/null | grep -q "install ok installed"; then
    local SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libmicrohttpd-dev ||
      { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libmicrohttpd-dev; }
    } >/dev/null || die "could not install libmicrohttpd-dev either"
  fi
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  echo "$1" >"$FALLBACK"
  exit 0
}

# Built, or fallen back, today (or the exact version asked for is built): nothing to do, no network.
if [[ -n ${MEMSCOPE_MHD_VERSION:-} ]]; then
  built && [[ "$(cat "$STAMP")" == "$(stamp_for "$MEMSCOPE_MHD_VERSION")" ]] && exit 0
elif [[ -z ${MEMSCOPE_MHD_REFRESH:-} ]] && { stamp_current && [[ -n $(find "$STAMP" -mmin -1440) ]] ||
                                          [[ -n $(find "$FALLBACK" -mmin -1440 2>/dev/null) ]]; }; then
  [[ -f $FALLBACK ]] && say "WARNING: using the system's libmicrohttpd (GnuTLS): $(cat "$FALLBACK")"
  exit 0
fi

for tool in apt-get apt-cache dpkg-source dpkg-buildflags dpkg xz cc make patch sha256sum; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is missing (run scripts/deps.sh, which installs dpkg-dev, xz-utils and build-essential)"
done

# The first archive URI apt already uses (deb822 .sources or one-line .list): $1 -v for the main
# archive, -e for the security one (as docker/ci-container-test.sh finds the main one).
apt_uri() {
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}'
  } | grep -v '^$' | grep "$1" security | grep -i debian | head -n 1 || true
}
mirror=${MEMSCOPE_DEBIAN_MIRROR:-$(apt_uri -v)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${MEMSCOPE_DEBIAN_SECURITY_MIRROR:-$(apt_uri -e)}
security=${security:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $keyring ]] || die "$keyring is missing (Debian's debian-archive-keyring package)"

mkdir -p "$REPO/.deps"
work=$(mktemp -d "$REPO/.deps/mhd-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/sources" "$work/lists/partial" "$work/cache" "$work/dl"
cat > "$work/sources/src.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: $keyring

Types: deb-src
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: $keyring
EOF
# Our own sources, lists and cache: nothing under /etc/apt or /var/lib/apt is read for sources or
# written.  apt checks the index's signature, then each downloaded file against the index's hashes.
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/sources"
          -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1)
# As root, apt downloads as its _apt user: give it the directories it writes to.
if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
  chown _apt "$work/dl" "$work/lists/partial"
fi

say "asking $mirror (bookworm, bookworm-updates) and $security (bookworm-security) for libmicrohttpd's source"
# One unreachable archive is not fatal (the others may carry the package); no index at all is.
apt-get "${apt_opts[@]}" update >"$work/apt.log" 2>&1 || true
versions=$(apt-cache "${apt_opts[@]}" showsrc libmicrohttpd 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u || true)
if [[ -z $versions ]]; then
  tail -n 8 "$work/apt.log" >&2
  fallback "no deb-src index of bookworm could be fetched from $mirror or $security (no network? set MEMSCOPE_DEBIAN_MIRROR)"
fi
MHD_VERSION=${MEMSCOPE_MHD_VERSION:-}
if [[ -z $MHD_VERSION ]]; then
  for v in $versions; do
    if [[ -z $MHD_VERSION ]] || dpkg --compare-versions "$v" gt "$MHD_VERSION"; then MHD_VERSION=$v; fi
  done
fi
want_stamp=$(stamp_for "$MHD_VERSION")
if built && [[ "$(cat "$STAMP")" == "$want_stamp" ]]; then
  touch "$STAMP"                                   # asked today: the next time is in a day
  exit 0
fi
say "fetching libmicrohttpd $MHD_VERSION (bookworm offers: $(echo $versions))"
(cd "$work/dl" && apt-get "${apt_opts[@]}" source --download-only "libmicrohttpd=$MHD_VERSION") >>"$work/apt.log" 2>&1 || {
  tail -n 5 "$work/apt.log" >&2
  fallback "could not download libmicrohttpd $MHD_VERSION's source (bookworm offers: $(echo $versions))"
}

dsc=$work/dl/libmicrohttpd_${MHD_VERSION}.dsc
[[ -f $dsc ]] || die "apt-get source did not leave $dsc"
# -x applies Debian's patch series (debian/patches), as Debian's own build does.
dpkg-source -x "$dsc" "$work/src" >>"$work/apt.log" 2>&1 || { tail -n 15 "$work/apt.log" >&2; die "dpkg-source -x failed"; }

# Our patches, after Debian's.  Each is tried first (--dry-run), so one that does not fit leaves
# the tree untouched; it is then left out, and why is said here and recorded in $PATCHES.
: >"$work/patches"
for p in "${PATCH_FILES[@]}"; do
  name=$(basename "$p")
  if patch -d "$work/src" -p1 --forward --dry-run --quiet <"$p" >/dev/null 2>&1; then
    patch -d "$work/src" -p1 --forward --quiet <"$p" >>"$work/apt.log" 2>&1 || die "patch $name failed after its dry run"
    say "applied $name"
    echo "applied $name" >>"$work/patches"
  elif patch -d "$work/src" -p1 -R --dry-run --quiet <"$p" >/dev/null 2>&1; then
    say "NOTE: $name is already in libmicrohttpd $MHD_VERSION; not needed"
    echo "not needed $name (already in $MHD_VERSION)" >>"$work/patches"
  else
    echo "mhd: WARNING: $name does not apply to libmicrohttpd $MHD_VERSION; building without it" \
         "(what it fixes may be fixed there, or not: see its header and refresh it)" >&2
    echo "not applied $name (does not apply to $MHD_VERSION)" >>"$work/patches"
  fi
done

say "building it without HTTPS (static, -j$(nproc))"
# The compiler flags of Debian's own build: its debian/rules sets hardening=+all.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags=$(cd "$work/src" && dpkg-buildflags --get CFLAGS)
cppflags=$(cd "$work/src" && dpkg-buildflags --get CPPFLAGS)
rm -rf "$PREFIX"
(
  cd "$work/src"
  ./configure --prefix="$PREFIX" "${CONFIGURE[@]}" CFLAGS="$cflags" CPPFLAGS="$cppflags"
  make -j"$(nproc)"
  make install
) >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; die "configure/make of libmicrohttpd failed"; }
grep -q 'HTTPS support:  *no' "$work/build.log" || die "configure did not turn HTTPS off (see its summary)"
rm -f "$PREFIX"/lib/*.la
cp "$work/patches" "$PATCHES"
echo "$want_stamp" >"$STAMP"
say "installed into $PREFIX"
