#!/usr/bin/env bash
# Prints the size of the browser bundle of the last build (wasm + js + css), raw and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=target/site/pkg
[ -d "$pkg" ] || { echo "no $pkg: build first (make release)" >&2; exit 1; }
total_raw=0; total_gz=0
for f in "$pkg"/crmcal.wasm "$pkg"/crmcal.js "$pkg"/crmcal.css; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c)
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
  printf '%-16s %8d bytes  %8d gzip\n' "$(basename "$f")" "$raw" "$gz"
done
printf '%-16s %8d bytes  %8d gzip\n' total "$total_raw" "$total_gz"
