#!/usr/bin/env bash
# Checks the interoperability matrix's pages in headless Chromium, loaded from
# file:// with no network: matrix.html must show every implementation of
# index.json, a finding for every finding of index.json (each with its wire
# trace, a spec link and a reproducing command), and case cells that lead to
# existing case pages of runs/; then the runs' own report.html goes through
# check-report-html.sh. Screenshots: matrix.png, matrix-findings.png.
#
#   harness/scripts/check-matrix-html.sh [MATRIX_DIR] [OUT_DIR]
#
# MATRIX_DIR defaults to reports/matrix. Needs Debian's chromium (installed
# when missing, as root, by check-report-html.sh's rules).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$(cd "${1:-reports/matrix}" && pwd)
out=${2:-$(mktemp -d)}
mkdir -p "$out"
for f in matrix.html matrix.md findings.md index.json runs/report.html; do
  [ -f "$dir/$f" ] || { echo "error: $dir/$f missing (run siospec matrix first)" >&2; exit 2; }
done
fail() { echo "check-matrix-html: FAILED: $*" >&2; exit 1; }

# The runs' report first: it also installs chromium when missing.
harness/scripts/check-report-html.sh "$dir/runs" "$out/runs" >/dev/null
browser=$(command -v chromium || command -v chromium-browser)

if grep -Eq '(src="(https?:)?//)|(<link[^>]*href="(https?:)?//)|(url\((https?:)?//)|@import' "$dir/matrix.html"; then
  fail "matrix.html loads something from the network"
fi

run() {
  local profile
  profile=$(mktemp -d)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --no-first-run --no-default-browser-check --user-data-dir="$profile" --hide-scrollbars \
    --run-all-compositor-stages-before-draw --virtual-time-budget=3000 \
    "$@" 2>/dev/null
  rm -rf "$profile"
}
count() { grep -c -- "$2" "$1" || true; }

# What index.json says the page must show.
read -r implementations findings < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schema"] == "siospec-matrix/1", m["schema"]
print(len(m["implementations"]), len(m["findings"]))' "$dir/index.json")

dom=$out/matrix.dom.html
run --dump-dom "file://$dir/matrix.html" >"$dom"
grep -q 'siospec interoperability matrix' "$dom" || fail "title not rendered"
grep -q 'id="implementations"' "$dom" || fail "no implementations table"
rows=$(count "$dom" '^<tr><td class="id">')
[ "$rows" = "$implementations" ] || fail "$rows implementation rows, index.json has $implementations"
shown=$(grep -o '<div class="findings" id="F[0-9]*">' "$dom" | wc -l)
[ "$shown" = "$findings" ] || fail "$shown findings shown, index.json has $findings"
if [ "$findings" -gt 0 ]; then
  [ "$(grep -o '<p><b>Wire trace</b>' "$dom" | wc -l)" -gt 0 ] || fail "no finding shows a wire trace"
  [ "$(grep -o '<p><b>Reproduce:</b> <code class="cmd">siospec ' "$dom" | wc -l)" = "$findings" ] || fail "a finding has no reproducing command"
  grep -Eq '<blockquote>.*href="https://(socket\.io|github\.com/socketio)' "$dom" || fail "findings do not quote and link the protocol"
fi
# Every case cell leads to a case page that exists.
missing=0
for href in $(grep -o 'href="runs/cases/[^"]*"' "$dom" | sed 's/^href="//; s/"$//' | sort -u); do
  [ -f "$dir/$href" ] || { echo "missing: $href" >&2; missing=$((missing + 1)); }
done
[ "$missing" = 0 ] || fail "$missing case link(s) lead nowhere"
[ "$(count "$dom" 'href="runs/cases/')" -gt 0 ] || fail "no case links"
total=$(count "$dom" '^<tr class="case"')
grep -q "id=\"f-count\">$total of $total case(s) shown<" "$dom" || fail "filter count not shown"

dom=$out/matrix-nonok.dom.html
run --dump-dom "file://$dir/matrix.html?nonok" >"$dom"
nonok=$(count "$dom" '^<tr class="case" data-nonok="1"')
grep -q "id=\"f-count\">$nonok of $total case(s) shown<" "$dom" || fail "non-OK only: count is not $nonok of $total"

run --window-size=1400,1800 --screenshot="$out/matrix.png" "file://$dir/matrix.html"
# The first findings below the implementations, in one tall window: headless
# Chromium (156) paints a page scrolled to an anchor (#F1) blank.
run --window-size=1400,5000 --screenshot="$out/matrix-findings.png" "file://$dir/matrix.html"
for png in "$out/matrix.png" "$out/matrix-findings.png"; do
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$png is not a PNG"
  [ "$(stat -c %s "$png")" -gt 20000 ] || fail "$png is suspiciously small (blank page?)"
done
echo "check-matrix-html: OK ($implementations implementations, $findings findings, $total case rows, $nonok non-OK; screenshots in $out)"
