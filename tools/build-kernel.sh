#!/usr/bin/env bash
# build-kernel.sh - build the `iommufd` VM test kernel: Debian's linux-source-7.3, `make tinyconfig` plus the
# fragment tests/vm/kernel-7.3.fragment, built out of tree in the cache.
#
# Usage: tools/build-kernel.sh            build if needed, print the bzImage path on the last line of stdout
#        tools/build-kernel.sh --path     print the path the bzImage has (or would have), build nothing;
#                                         exit 1 if it is not built yet
#        tools/build-kernel.sh --clean    remove the build tree first (to time a build from scratch)
# Environment: VFIOPP_CACHE (default ~/.cache/vfiopp), JOBS (default 2: the machine is shared).
#
# Everything lives in the cache (tools/setup-debian.sh downloads $CACHE/debs/linux-source-7.3_*.deb):
#   $CACHE/src/<version>/linux-source-7.3     unpacked source (dpkg -x + tar), once per package version
#   $CACHE/kbuild-7.3                         the out-of-tree build dir (incremental)
#   $CACHE/kernels/iommufd-<key>/bzImage      the result, with its .config and build log; <key> hashes the
#                                             fragment and the source package version, so a changed fragment or
#                                             a new linux-source-7.3 gives a new kernel and nothing else rebuilds
# Every CONFIG_ line of the fragment is checked against the final .config (Kconfig silently drops symbols
# whose dependencies are missing, e.g. IOMMUFD_TEST without IOMMU_PT_AMDV1); a mismatch fails the build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VFIOPP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfiopp}
FRAG=$ROOT/tests/vm/kernel-7.3.fragment
JOBS=${JOBS:-2}
die() { echo "build-kernel: error: $*" >&2; exit 1; }
log() { echo "build-kernel: $*" >&2; }
now() { date +%s.%N; }

MODE=build
case "${1:-}" in
  "") ;;
  --path) MODE=path ;;
  --clean) MODE=clean ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac

[ -f "$FRAG" ] || die "fragment $FRAG missing"
DEB=$(ls "$CACHE"/debs/linux-source-7.3_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$DEB" ] || die "no linux-source-7.3 package in $CACHE/debs; run tools/setup-debian.sh (as root) to download it"
VERSION=$(dpkg-deb -f "$DEB" Version) || die "cannot read the version of $DEB"
KEY=$( { cat "$FRAG"; echo "linux-source-7.3 $VERSION"; } | sha256sum | cut -c1-16)
OUT=$CACHE/kernels/iommufd-$KEY
if [ "$MODE" = path ]; then
  echo "$OUT/bzImage"
  [ -f "$OUT/bzImage" ] || exit 1
  exit 0
fi

# One build at a time per cache (ctest -j, several build dirs): the second waits for the first.
mkdir -p "$CACHE/kernels"
exec 9>"$CACHE/kernels/.lock"
flock 9

if [ -f "$OUT/bzImage" ] && [ "$MODE" != clean ]; then
  log "up to date: linux-source-7.3 $VERSION + $(basename "$FRAG") (key $KEY), built $(cat "$OUT/build-time.txt" 2>/dev/null || echo '?')"
  echo "$OUT/bzImage"
  exit 0
fi

for t in make gcc flex bison bc xz; do command -v $t >/dev/null || die "'$t' not found; run tools/setup-debian.sh"; done
[ -f /usr/include/libelf.h ] || die "libelf-dev missing; run tools/setup-debian.sh"
[ -f /usr/include/openssl/ssl.h ] || die "libssl-dev missing; run tools/setup-debian.sh"

T0=$(now)
# ---- unpack the source once per package version ----
SRCROOT=$CACHE/src/$(echo "$VERSION" | tr -c 'A-Za-z0-9.\n' '_')
SRC=$SRCROOT/linux-source-7.3
if [ ! -f "$SRCROOT/.unpacked" ]; then
  log "unpacking $(basename "$DEB") into $SRCROOT"
  rm -rf "$SRCROOT" && mkdir -p "$SRCROOT/pkg"
  dpkg -x "$DEB" "$SRCROOT/pkg"
  TARBALL=$(ls "$SRCROOT"/pkg/usr/src/linux-source-7.3.tar.* | head -n 1)
  tar -C "$SRCROOT" -xf "$TARBALL"
  rm -rf "$SRCROOT/pkg"
  [ -f "$SRC/Makefile" ] || die "unpacked source has no $SRC/Makefile"
  touch "$SRCROOT/.unpacked"
fi
T1=$(now)

# ---- configure: tinyconfig + fragment, .config only touched when it changes ----
O=$CACHE/kbuild-7.3
[ "$MODE" = clean ] && rm -rf "$O"
mkdir -p "$O"
CFG=$(mktemp -d "$CACHE/kernels/.cfg.XXXXXX")
trap 'rm -rf "$CFG"' EXIT
# Configure in a scratch dir so that an unchanged result leaves the build tree's .config (and its mtime) alone.
make -s -C "$SRC" O="$CFG" tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$CFG" "$CFG/.config" "$FRAG" >"$CFG/merge.log"
make -s -C "$SRC" O="$CFG" olddefconfig >/dev/null
BAD=""
while IFS= read -r line; do
  case $line in
    CONFIG_*=*)
      sym=${line%%=*}; sym=${sym#CONFIG_}; want=${line#*=}
      got=$("$SRC/scripts/config" --file "$CFG/.config" --state "$sym")
      [ "$got" = "$want" ] || BAD="$BAD $sym(want $want, got $got)" ;;
    "# CONFIG_"*" is not set")
      sym=${line#\# CONFIG_}; sym=${sym%% *}
      got=$("$SRC/scripts/config" --file "$CFG/.config" --state "$sym")
      case $got in n|undef) ;; *) BAD="$BAD $sym(want n, got $got)" ;; esac ;;
  esac
done <"$FRAG"
[ -z "$BAD" ] || die "these fragment symbols did not end up as asked (missing dependencies?):$BAD"
if ! cmp -s "$CFG/.config" "$O/.config"; then
  cp "$CFG/.config" "$O/.config"
  make -s -C "$SRC" O="$O" olddefconfig >/dev/null
fi
T2=$(now)

# ---- build ----
log "building bzImage with -j$JOBS in $O (about 9-10 minutes from scratch on 2 idle cores: 558 s measured for the 7.3 fragment with dma-buf export)"
make -s -C "$SRC" O="$O" -j"$JOBS" bzImage >"$CFG/build.log" 2>&1 || { tail -n 40 "$CFG/build.log" >&2; die "kernel build failed (log above)"; }
T3=$(now)

# ---- publish atomically: the directory appears complete or not at all ----
STAGE=$CACHE/kernels/.stage-$KEY
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp "$O/arch/x86/boot/bzImage" "$STAGE/bzImage"
cp "$O/.config" "$STAGE/config"
cp "$CFG/build.log" "$STAGE/build.log"
TIMES=$(printf 'unpack %.0fs configure %.0fs build %.0fs total %.0fs (-j%s, %s)' \
  "$(echo "$T1-$T0" | bc)" "$(echo "$T2-$T1" | bc)" "$(echo "$T3-$T2" | bc)" "$(echo "$T3-$T0" | bc)" "$JOBS" "$(date -Is)")
echo "$TIMES" >"$STAGE/build-time.txt"
printf 'linux-source-7.3 %s\nfragment sha256 %s\n' "$VERSION" "$(sha256sum "$FRAG" | cut -d' ' -f1)" >"$STAGE/source.txt"
rm -rf "$OUT" && mv "$STAGE" "$OUT"
log "built $OUT/bzImage ($(stat -c %s "$OUT/bzImage") bytes): $TIMES"
echo "$OUT/bzImage"
