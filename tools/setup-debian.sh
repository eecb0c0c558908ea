#!/usr/bin/env bash
# setup-debian.sh - install everything vfiopp's build, tests, examples and VM tests need on Debian 12.
#
# - enables bookworm-backports, with the archive URI copied from the machine's own apt sources
#   (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list); no host name is written here;
# - installs the Debian packages (compilers, Boost 1.83, Catch2 3, fmt, liburing, QEMU 10, busybox, kernel build tools);
# - downloads (never installs) into $VFIOPP_CACHE: Debian 12's kernel image (for the `debian` VM kernel),
#   from trixie-backports, through a private apt state dir, linux-libc-dev 7.3 (uapi headers) and linux-source-7.3,
#   and from bullseye (Debian 11), through another, linux-libc-dev 5.10 (the 5.10 <linux/iommu.h>).
# Idempotent: a second run with everything present takes a second or two.
set -euo pipefail
CACHE=${VFIOPP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfiopp}
die() { echo "setup-debian: error: $*" >&2; exit 1; }
log() { echo "setup-debian: $*" >&2; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get install); rerun with sudo"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || log "warning: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}"

# ---- the archive URI, from the machine's own sources ----
archive_uri() {
  local u=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    u=$(awk '/^URIs:/ {for (i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$u" ] && [ -f /etc/apt/sources.list ]; then
    u=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$u" ] || die "no Debian archive URI found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  echo "$u"
}
URI=$(archive_uri)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

BPO=/etc/apt/sources.list.d/vfiopp-bookworm-backports.sources
want_bpo="Types: deb
URIs: $URI
Suites: bookworm-backports
Components: main
Signed-By: $KEYRING"
updated=0
if [ "$(cat $BPO 2>/dev/null)" != "$want_bpo" ]; then
  log "enabling bookworm-backports"
  printf '%s\n' "$want_bpo" > $BPO
  apt-get update -qq || die "apt-get update failed"
  updated=1
fi

# ---- packages ----
PKGS_MAIN="build-essential g++ clang-19 libclang-rt-19-dev lld-19 llvm-19 pkg-config ninja-build git ccache
  libfmt-dev liburing-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  busybox-static cpio gzip xz-utils bc flex bison libelf-dev libssl-dev make python3 time"
PKGS_BPO="catch2 libboost1.83-dev cmake qemu-system-x86"
missing=""
for p in $PKGS_MAIN; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"; done
bpo_missing=""
for p in $PKGS_BPO; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || bpo_missing="$bpo_missing $p"; done
# versions that must come from backports
cm=$(dpkg-query -W -f='${Version}' cmake 2>/dev/null || true)
case $cm in 3.2[5-9]*|3.3*|4.*) ;; *) bpo_missing="$bpo_missing cmake";; esac
qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
case $qv in 1:[1-9][0-9].*) ;; *) bpo_missing="$bpo_missing qemu-system-x86";; esac
c2=$(dpkg-query -W -f='${Version}' catch2 2>/dev/null || true)
case $c2 in 3.*) ;; *) bpo_missing="$bpo_missing catch2";; esac
if [ -n "$missing$bpo_missing" ]; then
  [ $updated = 1 ] || apt-get update -qq || die "apt-get update failed"
  export DEBIAN_FRONTEND=noninteractive
  if [ -n "$missing" ]; then
    log "installing:$missing"
    apt-get install -y -qq --no-install-recommends $missing >/dev/null || die "apt-get install$missing failed"
  fi
  if [ -n "$bpo_missing" ]; then
    log "installing from bookworm-backports:$bpo_missing"
    apt-get install -y -qq --no-install-recommends -t bookworm-backports $bpo_missing >/dev/null \
      || die "apt-get install -t bookworm-backports$bpo_missing failed"
  fi
fi

# ---- downloads into the cache (never installed) ----
mkdir -p "$CACHE/debs"
# Debian 12's own kernel: the version linux-image-amd64 depends on, unpacked into $CACHE/debian-kernel
if [ ! -f "$CACHE/debian-kernel/.done" ]; then
  [ $updated = 1 ] || { apt-get update -qq || die "apt-get update failed"; updated=1; }
  KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 to a kernel package"
  log "downloading $KPKG (unpacked into the cache, not installed)"
  (cd "$CACHE/debs" && apt-get -o APT::Sandbox::User=root download -qq "$KPKG") || die "apt-get download $KPKG failed"
  rm -rf "$CACHE/debian-kernel" && mkdir -p "$CACHE/debian-kernel"
  dpkg -x "$CACHE"/debs/"$KPKG"_*.deb "$CACHE/debian-kernel" || die "dpkg -x $KPKG failed"
  echo "$KPKG" > "$CACHE/debian-kernel/.done"
fi

# trixie-backports through a private apt state dir: linux-libc-dev 7.3 and linux-source-7.3
APTD=$CACHE/apt-trixie
APTO=(-o APT::Sandbox::User=root -o Dir::Etc::sourcelist=$APTD/sources.list -o Dir::Etc::sourceparts=/nonexistent
      -o Dir::State::Lists=$APTD/lists -o Dir::State::status=$APTD/status -o Dir::Cache=$APTD/cache
      -o APT::Architecture=amd64 -o Debug::NoLocking=1)
trixie_ready() { [ -f "$CACHE/hdr-7.3/usr/include/linux/iommufd.h" ] && ls "$CACHE"/debs/linux-source-7.3_*.deb >/dev/null 2>&1; }
if ! trixie_ready; then
  mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial"
  : > "$APTD/status"
  echo "deb [signed-by=$KEYRING] $URI trixie-backports main" > "$APTD/sources.list"
  echo "deb [signed-by=$KEYRING] $URI trixie main" >> "$APTD/sources.list"
  log "updating the private trixie-backports apt lists ($APTD)"
  apt-get "${APTO[@]}" update -qq || die "apt-get update of the private trixie-backports lists failed"
  cd "$CACHE/debs"
  if ! ls linux-libc-dev_7.3.*.deb >/dev/null 2>&1; then
    V=$(apt-cache "${APTO[@]}" madison linux-libc-dev | awk -F'|' '$2 ~ /^ *7\.3\./ {gsub(/ /,"",$2); print $2; exit}')
    [ -n "$V" ] || die "no linux-libc-dev 7.3.x in trixie-backports"
    apt-get "${APTO[@]}" download -qq "linux-libc-dev=$V" || die "download linux-libc-dev=$V failed"
  fi
  if ! ls linux-source-7.3_*.deb >/dev/null 2>&1; then
    apt-get "${APTO[@]}" download -qq linux-source-7.3 || die "download linux-source-7.3 failed"
  fi
  rm -rf "$CACHE/hdr-7.3" && mkdir -p "$CACHE/hdr-7.3"
  dpkg -x "$CACHE"/debs/linux-libc-dev_7.3.*.deb "$CACHE/hdr-7.3" || die "dpkg -x linux-libc-dev failed"
  # the multiarch asm headers live under usr/include/x86_64-linux-gnu; expose them at usr/include/asm too
  [ -e "$CACHE/hdr-7.3/usr/include/asm" ] || ln -s x86_64-linux-gnu/asm "$CACHE/hdr-7.3/usr/include/asm"
fi

# bullseye (Debian 11) through its own private apt state dir: linux-libc-dev 5.10, whose <linux/iommu.h> has the
# 5.10 payloads of the 2020 proposal (the 5.10 cross-check and the golden NESTING_OP images build against it)
APTD11=$CACHE/apt-bullseye
APTO11=(-o APT::Sandbox::User=root -o Dir::Etc::sourcelist=$APTD11/sources.list -o Dir::Etc::sourceparts=/nonexistent
        -o Dir::State::Lists=$APTD11/lists -o Dir::State::status=$APTD11/status -o Dir::Cache=$APTD11/cache
        -o APT::Architecture=amd64 -o Debug::NoLocking=1)
if [ ! -f "$CACHE/hdr-5.10/usr/include/linux/iommu.h" ]; then
  mkdir -p "$APTD11/lists/partial" "$APTD11/cache/archives/partial" "$CACHE/debs"
  : > "$APTD11/status"
  echo "deb [signed-by=$KEYRING] $URI bullseye main" > "$APTD11/sources.list"
  cd "$CACHE/debs"
  if ! ls linux-libc-dev_5.10.*_amd64.deb >/dev/null 2>&1; then
    log "updating the private bullseye apt lists ($APTD11)"
    apt-get "${APTO11[@]}" update -qq || die "apt-get update of the private bullseye lists failed"
    V=$(apt-cache "${APTO11[@]}" madison linux-libc-dev | awk -F'|' '$2 ~ /^ *5\.10\./ {gsub(/ /,"",$2); print $2; exit}')
    [ -n "$V" ] || die "no linux-libc-dev 5.10.x in bullseye"
    apt-get "${APTO11[@]}" download -qq "linux-libc-dev=$V" || die "download linux-libc-dev=$V (bullseye) failed"
  fi
  rm -rf "$CACHE/hdr-5.10" && mkdir -p "$CACHE/hdr-5.10"
  dpkg -x "$CACHE"/debs/linux-libc-dev_5.10.*_amd64.deb "$CACHE/hdr-5.10" || die "dpkg -x linux-libc-dev 5.10 failed"
  [ -f "$CACHE/hdr-5.10/usr/include/linux/iommu.h" ] || die "linux-libc-dev 5.10 has no linux/iommu.h"
  # the asm headers live under usr/include/x86_64-linux-gnu; expose them at usr/include/asm too
  [ -e "$CACHE/hdr-5.10/usr/include/asm" ] || ln -s x86_64-linux-gnu/asm "$CACHE/hdr-5.10/usr/include/asm"
fi
log "ready (cache: $CACHE)"
