#!/usr/bin/env bash
# mhd.sh - builds the libmicrohttpd that memscoped links: Debian bookworm's own source package (with
# Debian's patches and hardening flags), configured without HTTPS, as a static library installed
# into .deps/libmicrohttpd-notls/ (git ignores it).  CMake prefers it over the system library.
#
# Why: Debian's libmicrohttpd12 is built with GnuTLS, and loading it maps libgnutls, libp11-kit,
# libnettle, libhogweed, libgmp, libtasn1, libunistring, libidn2 and libffi into memscoped: about
# 2.5 MiB of its 4.6 MiB idle resident memory, for TLS it never speaks (a reverse proxy does).
#
# Idempotent: a stamp records the version and the configure line; while it matches, a run costs
# nothing.  The system's apt configuration is left alone: the deb-src index goes to a scratch
# directory.  Needs dpkg-dev (dpkg-source, dpkg-buildflags), xz-utils and a C compiler, which
# scripts/deps.sh installs before calling this.
#   MEMSCOPE_MHD_PREFIX     where to install (default: <repo>/.deps/libmicrohttpd-notls)
#   MEMSCOPE_DEBIAN_MIRROR  the Debian archive to fetch from (default: the one apt already uses)
set -euo pipefail

# Pinned so every machine builds the same library.  When bookworm moves on (a point release or a
# security fix), the fetch fails and says so: update this line (and nothing else).
MHD_VERSION=0.9.75-6

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${MEMSCOPE_MHD_PREFIX:-$REPO/.deps/libmicrohttpd-notls}
# Everything memscoped does not use is off: TLS above all, and the curl test suite, docs, examples
# and the shared library.
CONFIGURE=(--disable-https --without-gnutls --disable-curl --disable-doc --disable-examples
           --disable-shared --enable-static --with-pic)
STAMP=$PREFIX/.memscope-stamp
want_stamp="libmicrohttpd $MHD_VERSION ${CONFIGURE[*]}"

say() { echo "mhd: $*"; }
die() { echo "mhd: ERROR: $*" >&2; exit 1; }

if [[ -f $STAMP && "$(cat "$STAMP")" == "$want_stamp" && -f $PREFIX/lib/libmicrohttpd.a ]]; then
  exit 0
fi

for tool in apt-get dpkg-source dpkg-buildflags xz cc make; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is missing (run scripts/deps.sh, which installs dpkg-dev, xz-utils and build-essential)"
done

# The first main-archive URI apt already uses (deb822 .sources or one-line .list), as
# docker/ci-container-test.sh finds it; the security archive carries no full source index.
mirror=${MEMSCOPE_DEBIAN_MIRROR:-$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}'
  } | grep -v -e security -e '^$' | grep -i debian | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
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
Suites: bookworm
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

say "fetching Debian's source package libmicrohttpd $MHD_VERSION from $mirror (bookworm)"
apt-get "${apt_opts[@]}" --error-on=any update >"$work/apt.log" 2>&1 ||
  { tail -n 15 "$work/apt.log" >&2; die "could not fetch bookworm's deb-src index from $mirror (no network? set MEMSCOPE_DEBIAN_MIRROR)"; }
(cd "$work/dl" && apt-get "${apt_opts[@]}" source --download-only "libmicrohttpd=$MHD_VERSION") >>"$work/apt.log" 2>&1 || {
  tail -n 5 "$work/apt.log" >&2
  have=$(apt-cache "${apt_opts[@]}" showsrc libmicrohttpd 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u | paste -sd ' ' || true)
  die "could not download libmicrohttpd $MHD_VERSION from $mirror; bookworm offers: ${have:-nothing}.  If that is a newer version, set MHD_VERSION in scripts/mhd.sh to it."
}

dsc=$work/dl/libmicrohttpd_${MHD_VERSION}.dsc
[[ -f $dsc ]] || die "apt-get source did not leave $dsc"
# -x applies Debian's patch series (debian/patches), as Debian's own build does.
dpkg-source -x "$dsc" "$work/src" >>"$work/apt.log" 2>&1 || { tail -n 15 "$work/apt.log" >&2; die "dpkg-source -x failed"; }

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
echo "$want_stamp" >"$STAMP"
say "installed into $PREFIX"
