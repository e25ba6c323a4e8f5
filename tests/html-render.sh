#!/usr/bin/env bash
# html-render.sh PAGE.html OUT_DIR — check that a leakdiff HTML report
# renders in a real browser: headless Chromium (Debian package `chromium`)
# loads the file with the network off, and
#   1. its DOM (after layout) must hold the two charts — an <svg> with the
#      timeline polyline, the peak marker and a snapshot marker, and the bar
#      chart — and the section headings and tables;
#   2. a screenshot of the page must be a PNG that is not one flat colour
#      (more than 8 distinct byte values in its pixel data, at least 20 KB).
# Prints what failed and exits 1; exits 77 (skip) when Chromium is missing.
set -euo pipefail
page=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
mkdir -p "$out"
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$chrome" ] || { echo "html-render.sh: chromium is not installed (apt-get install chromium)"; exit 77; }
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
       --proxy-server=127.0.0.1:9 --user-data-dir="$out/profile")
bad=0
fail() { echo "html-render.sh: $*"; bad=1; }

dom=$("$chrome" "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)
[ "$(grep -o '<svg ' <<<"$dom" | wc -l)" -ge 2 ] || fail "the DOM has fewer than two <svg> charts"
grep -q '<polyline class="mk-line"' <<<"$dom" || fail "the timeline has no line"
grep -q 'class="mk-peak"' <<<"$dom" || fail "the peak is not marked"
grep -q 'class="mk-marker"' <<<"$dom" || fail "no snapshot marker"
grep -q 'class="mk-bar"' <<<"$dom" || fail "the bar chart has no bars"
for id in summary timeline peak top leaks growth diff suggestions; do
    grep -q "<h2 id=\"$id\">" <<<"$dom" || fail "section $id is missing"
done
[ "$(grep -o '<table>' <<<"$dom" | wc -l)" -ge 3 ] || fail "fewer than three tables"

"$chrome" "${flags[@]}" --window-size=1200,2400 --hide-scrollbars --screenshot="$out/page.png" \
    "file://$page" > /dev/null 2>&1 || true
if [ ! -s "$out/page.png" ]; then
    fail "no screenshot was written"
else
    size=$(wc -c < "$out/page.png")
    [ "$(head -c 8 "$out/page.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
    [ "$size" -ge 20000 ] || fail "the screenshot is only $size bytes (a blank page?)"
    # decode the PNG (zlib only) and count the colours actually drawn
    colours=$(python3 - "$out/page.png" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
pos, idat, w, h, bpp = 8, b"", 0, 0, 4
while pos < len(d):
    n, kind = struct.unpack(">I4s", d[pos:pos + 8])
    body = d[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(ctype, 4)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp + 1
# rows with filter 0 (None) or any: sample the raw bytes of each row's pixels;
# unfiltering is not needed to tell a flat page from a drawn one
seen = set()
for y in range(0, h, 7):
    row = raw[y * stride + 1:(y + 1) * stride]
    for x in range(0, len(row) - bpp, bpp * 13):
        seen.add(row[x:x + bpp])
print(len(seen))
PY
)
    [ "$colours" -gt 8 ] || fail "the screenshot looks flat ($colours distinct pixel values)"
fi
[ "$bad" = 0 ] && echo "html-render.sh: $page renders: 2 charts, all sections; screenshot $out/page.png"
exit $bad
