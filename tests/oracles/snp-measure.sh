#!/usr/bin/env bash
# Installs the SEV-SNP launch-digest oracle (sev-snp-measure 0.0.13, PyPI) and
# fetches Debian OVMF images into target/oracle/ (or $SNP_ORACLE_DIR) for the
# differential tests in crates/tee-sev/tests/sev/reference.rs. Idempotent; no
# root needed except that apt-get download runs as the current user.
#
#   target/oracle/venv/bin/sev-snp-measure      the oracle (tests: $SEV_SNP_MEASURE)
#   target/oracle/ovmf/bookworm/...             ovmf 2022.11-6+deb12u2 (stable release)
#   target/oracle/ovmf/amdsev/...               ovmf-amdsev 2026.08+ds-2 (forky/sid;
#                                               replaced in place when a newer upload lands)
#   target/oracle/ovmf/amdsev.missing           why that one could not be fetched
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${SNP_ORACLE_DIR:-target/oracle}"
mkdir -p "$OUT/ovmf" "$OUT/deb"
OUT="$(cd "$OUT" && pwd)"
ok=1

# ---- the oracle
if [ -x "$OUT/venv/bin/sev-snp-measure" ] && "$OUT/venv/bin/sev-snp-measure" --version 2>/dev/null | grep -q '0\.0\.13'; then
  echo "snp-measure: sev-snp-measure 0.0.13 already in $OUT/venv"
else
  rm -rf "$OUT/venv"
  if python3 -m venv "$OUT/venv" && "$OUT/venv/bin/pip" install -q --disable-pip-version-check 'sev-snp-measure==0.0.13'; then
    echo "snp-measure: installed sev-snp-measure 0.0.13 into $OUT/venv"
  else
    echo "snp-measure: FAILED to install sev-snp-measure==0.0.13 (python3-venv missing?)" >&2
    ok=0
  fi
fi

# ---- Debian OVMF (stable: bookworm's ovmf, the machine's own suite)
APT_OPTS=(-o APT::Sandbox::User=root -qq)
fetch() { # fetch NAME=VERSION DEST [extra apt options...]
  local pkg=$1 dest=$2; shift 2
  [ -d "$dest/usr/share" ] && return 0
  local d; d=$(mktemp -d)
  if (cd "$d" && apt-get "${APT_OPTS[@]}" "$@" download "$pkg" >/dev/null 2>"$d/err"); then
    mkdir -p "$dest" && dpkg-deb -x "$d"/*.deb "$dest" && rm -rf "$d" && return 0
  fi
  cat "$d/err" >&2; rm -rf "$d"; return 1
}
if fetch 'ovmf=2022.11-6+deb12u2' "$OUT/ovmf/bookworm"; then
  echo "snp-measure: bookworm ovmf in $OUT/ovmf/bookworm"
else
  echo "snp-measure: FAILED to download ovmf=2022.11-6+deb12u2" >&2
  ok=0
fi

# ---- Debian OVMF with kernel hashes (forky: ovmf-amdsev, pinned; may disappear)
if [ ! -d "$OUT/ovmf/amdsev/usr/share" ]; then
  A="$OUT/apt-forky"; mkdir -p "$A/lists/partial" "$A/parts"
  # The Debian URI already configured (deb822 `URIs:` or one-line `deb URI`), not the security one.
  uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | sed -nE 's/^URIs:[[:space:]]*(\S+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(\S+).*/\2/p' \
        | grep -v -e security -e '^#' | grep -m1 '/debian/\?$')
  uri=${uri:-http://deb.debian.org/debian}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri forky main" > "$A/sources.list"
  FORKY=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/parts" -o Dir::State::Lists="$A/lists")
  if apt-get "${APT_OPTS[@]}" "${FORKY[@]}" update >/dev/null 2>"$A/update.err" \
     && fetch 'ovmf-amdsev=2026.08+ds-2' "$OUT/ovmf/amdsev" "${FORKY[@]}"; then
    rm -f "$OUT/ovmf/amdsev.missing"
  else
    echo "ovmf-amdsev=2026.08+ds-2 not fetchable from $uri forky ($(date -u +%F)): $(tail -n1 "$A/update.err" 2>/dev/null)" > "$OUT/ovmf/amdsev.missing"
    echo "snp-measure: WARNING: $(cat "$OUT/ovmf/amdsev.missing")" >&2
  fi
fi
[ -d "$OUT/ovmf/amdsev/usr/share" ] && echo "snp-measure: forky ovmf-amdsev in $OUT/ovmf/amdsev"

find "$OUT/ovmf" -name '*.fd' -type f -print0 | xargs -0 -r sha256sum
[ "$ok" = 1 ]
