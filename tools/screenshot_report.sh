#!/usr/bin/env bash
# Look at an ICP report the way a reader would: a full-page screenshot and a printed PDF, both
# from headless Chromium, plus one PNG per PDF page (poppler's pdftoppm) to inspect print layout.
# Not part of the test suite (CI has no Chromium).
#
# usage: tools/screenshot_report.sh REPORT.html [OUT_DIR]
#   writes OUT_DIR/shot.png (1200 px wide), OUT_DIR/report.pdf and OUT_DIR/page-N.png
#   OUT_DIR defaults to the report's folder. Needs: chromium, pdftoppm (Debian: chromium poppler-utils).
#   HEIGHT=3000 sets the screenshot's height in pixels.
set -euo pipefail

html=${1:?usage: tools/screenshot_report.sh REPORT.html [OUT_DIR]}
[[ -f $html ]] || { echo "no such file: $html" >&2; exit 2; }
html=$(realpath "$html")
out=$(realpath -m "${2:-$(dirname "$html")}")
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $browser ]] || { echo "chromium not found (Debian: apt-get install -y chromium poppler-utils)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Offline on purpose: the report must need nothing from the network.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile")

"$browser" "${flags[@]}" --window-size="1200,${HEIGHT:-3000}" --screenshot="$out/shot.png" "file://$html" 2>/dev/null
"$browser" "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out/report.pdf" "file://$html" 2>/dev/null
rm -f "$out"/page-*.png
pdftoppm -r 70 -png "$out/report.pdf" "$out/page"
echo "$out/shot.png"
echo "$out/report.pdf ($(ls "$out"/page-*.png | wc -l) pages: $out/page-*.png)"
