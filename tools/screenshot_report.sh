#!/usr/bin/env bash
# Look at an ICP report the way a reader would: a full-page screenshot and a printed PDF, both
# from headless Chromium, plus one PNG per PDF page (poppler's pdftoppm) to inspect print layout.
# Not part of the test suite (CI has no Chromium).
#
# usage: tools/screenshot_report.sh REPORT.html [OUT_DIR]
#   writes OUT_DIR/shot.png (1200 px wide), OUT_DIR/NAME.pdf (A4, as printed) and OUT_DIR/NAME-page-N.png
#   OUT_DIR defaults to the report's folder. Needs: chromium, pdftoppm (Debian: chromium poppler-utils).
#   HEIGHT=3000 sets the screenshot's height in pixels, DPI=70 the resolution of the page PNGs.
set -euo pipefail

html=${1:?usage: tools/screenshot_report.sh REPORT.html [OUT_DIR]}
[[ -f $html ]] || { echo "no such file: $html" >&2; exit 2; }
html=$(realpath "$html")
out=$(realpath -m "${2:-$(dirname "$html")}")
name=$(basename "${html%.*}")
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $browser ]] || { echo "chromium not found (Debian: apt-get install -y chromium poppler-utils)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Quiet, throwaway browser profile; the report itself must need nothing from the network.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile")

"$browser" "${flags[@]}" --window-size="1200,${HEIGHT:-3000}" --screenshot="$out/shot.png" "file://$html" 2>/dev/null
"$browser" "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out/$name.pdf" "file://$html" 2>/dev/null
rm -f "$out/$name"-page-*.png
pdftoppm -r "${DPI:-70}" -png "$out/$name.pdf" "$out/$name-page"
echo "$out/shot.png"
echo "$out/$name.pdf ($(ls "$out/$name"-page-*.png | wc -l) pages: $out/$name-page-*.png)"
