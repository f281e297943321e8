#!/usr/bin/env bash
# Fetches Debian's TDX firmware (TDVF) for the differential MRTD test in
# crates/tee-tdx/tests/tdx/reference.rs (debian_inteltdx_image_matches_the_fact_sheet)
# into target/oracle/ (or $SNP_ORACLE_DIR, shared with snp-measure.sh).
# Idempotent; no root needed (apt-get download runs as the current user).
#
#   target/oracle/ovmf/inteltdx/usr/share/ovmf/OVMF.inteltdx.ms.fd
#        ovmf-inteltdx 2026.08+ds-2 (forky/sid; pinned: the test checks its sha256).
#        .ci/run exports TEE_OVMF_INTELTDX=<that path> when the file exists.
#   target/oracle/ovmf/inteltdx.missing   why it could not be fetched
#
# Exit status: 0 when the image is in place, 1 when it could not be fetched
# (a loud warning on stderr; the test then skips). The pinned version leaving
# the mirror must not fail CI, so the caller treats 1 as a warning.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${SNP_ORACLE_DIR:-target/oracle}"
mkdir -p "$OUT/ovmf"
OUT="$(cd "$OUT" && pwd)"
PKG='ovmf-inteltdx=2026.08+ds-2'
DEST="$OUT/ovmf/inteltdx"
FD="$DEST/usr/share/ovmf/OVMF.inteltdx.ms.fd"

if [ ! -f "$FD" ]; then
  APT_OPTS=(-o APT::Sandbox::User=root -qq)
  A="$OUT/apt-forky"; mkdir -p "$A/lists/partial" "$A/parts"
  # The Debian URI already configured (deb822 `URIs:` or one-line `deb URI`), not the security one.
  uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | sed -nE 's/^URIs:[[:space:]]*(\S+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(\S+).*/\2/p' \
        | grep -v -e security -e '^#' | grep -m1 '/debian/\?$')
  uri=${uri:-http://deb.debian.org/debian}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri forky main" > "$A/sources.list"
  FORKY=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/parts" -o Dir::State::Lists="$A/lists")
  d=$(mktemp -d)
  why=""
  if ! apt-get "${APT_OPTS[@]}" "${FORKY[@]}" update >/dev/null 2>"$d/err"; then
    why="apt-get update of $uri forky failed: $(tail -n1 "$d/err")"
  elif ! (cd "$d" && apt-get "${APT_OPTS[@]}" "${FORKY[@]}" download "$PKG" >/dev/null 2>"$d/err"); then
    why="$PKG not fetchable from $uri forky: $(tail -n1 "$d/err")"
  elif ! { rm -rf "$DEST" && mkdir -p "$DEST" && dpkg-deb -x "$d"/*.deb "$DEST"; }; then
    why="dpkg-deb -x of $PKG failed"
  elif [ ! -f "$FD" ]; then
    why="$PKG has no usr/share/ovmf/OVMF.inteltdx.ms.fd"
  fi
  rm -rf "$d"
  if [ -n "$why" ]; then
    echo "$why ($(date -u +%F))" > "$OUT/ovmf/inteltdx.missing"
    echo "tdvf: WARNING: $(cat "$OUT/ovmf/inteltdx.missing")" >&2
    echo "tdvf: WARNING: debian_inteltdx_image_matches_the_fact_sheet will SKIP (TEE_OVMF_INTELTDX unset)" >&2
    exit 1
  fi
fi
rm -f "$OUT/ovmf/inteltdx.missing"
echo "tdvf: $PKG in $DEST"
sha256sum "$FD"
