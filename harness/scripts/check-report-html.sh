#!/usr/bin/env bash
# Checks that siospec's static HTML report renders in headless Chromium with
# no network: the matrix and one per-case page are loaded from file://, their
# DOM must hold the expected content (findings, section index whose anchors
# all lead somewhere, level column, filters, servers and clients side by side
# when both are there; the case page's spec link and
# re-run command), the filters must work when the address sets them
# (report.html?nonok hides every OK row, report.html#q=TEXT keeps only the
# matching rows), and screenshots are written (report.png, report-nonok.png,
# case.png).
#
#   harness/scripts/check-report-html.sh [REPORT_DIR] [OUT_DIR]
#
# REPORT_DIR defaults to reports/matrix/runs (it must hold report.html, made by
# `siospec run` or `siospec matrix`); screenshots go to OUT_DIR (default: a temp dir, printed).
# Needs Debian's `chromium` package; as root it is installed when missing
# (apt-get update && apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$(cd "${1:-reports/matrix/runs}" && pwd)
out=${2:-$(mktemp -d)}
mkdir -p "$out"
[ -f "$dir/report.html" ] || { echo "error: $dir/report.html missing (run siospec run first)" >&2; exit 2; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing chromium (apt-get)" >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium)
  else
    echo "error: chromium not installed: apt-get update && apt-get install -y chromium" >&2
    exit 2
  fi
fi

fail() { echo "check-report-html: FAILED: $*" >&2; exit 1; }

# Nothing is loaded from the network: no src, stylesheet link, CSS url() or
# @import outside the report. (Plain <a href> links to the protocol documents
# are fine: nothing loads until someone follows them.)
no_network() {
  if grep -Eq '(src="(https?:)?//)|(<link[^>]*href="(https?:)?//)|(url\((https?:)?//)|@import' "$1"; then
    fail "$(basename "$1") loads something from the network"
  fi
}
no_network "$dir/report.html"

# A glob, not `ls | head`: under pipefail, head closing the pipe early kills
# ls with SIGPIPE and the script with it. The handshake case if it ran.
pages=("$dir"/cases/*/eio4.handshake.polling.open.html)
[ -f "${pages[0]}" ] || pages=("$dir"/cases/*/*.html)
page=${pages[0]}
[ -f "$page" ] || fail "no per-case page"
no_network "$page"

run() {
  local profile
  profile=$(mktemp -d)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --no-first-run --no-default-browser-check --user-data-dir="$profile" --hide-scrollbars \
    --run-all-compositor-stages-before-draw --virtual-time-budget=3000 \
    "$@" 2>/dev/null
  rm -rf "$profile"
}

# count FILE REGEX: matching lines (0 when none, which grep -c reports with status 1).
count() { grep -c -- "$2" "$1" || true; }
# rows FILE NONOK HIDDEN: case rows with data-nonok=NONOK, hidden (1) or shown (0).
rows() {
  local n
  n=$(grep -- "^<tr class=\"case\" data-nonok=\"$2\"" "$1" | grep -c 'hidden=""' || true)
  if [ "$3" = 1 ]; then echo "$n"; else echo $(( $(count "$1" "^<tr class=\"case\" data-nonok=\"$2\"") - n )); fi
}

# The matrix as loaded: every element there, every row shown.
dom=$out/report.dom.html
run --dump-dom "file://$dir/report.html" >"$dom"
grep -q 'siospec conformance report' "$dom" || fail "matrix title not rendered"
grep -q 'eio4.handshake.polling.open' "$dom" || fail "case rows not rendered"
grep -q 'href="cases/' "$dom" || fail "no links to case pages"
grep -q 'id="findings"' "$dom" || fail "no findings section"
grep -q '<nav class="toc" id="index">' "$dom" || fail "no section index"
for id in $(grep -o 'href="#sec-[^"]*"' "$dom" | sed 's/^href="#//; s/"$//'); do
  grep -q "id=\"$id\"" "$dom" || fail "index anchor #$id leads nowhere"
done
[ "$(count "$dom" 'href="#sec-')" -gt 0 ] || fail "the index links no section"
grep -q 'class="lvl MUST">MUST<' "$dom" || fail "no MUST/SHOULD/MAY column"
for el in f-nonok f-differ f-q f-count; do grep -q "id=\"$el\"" "$dom" || fail "no #$el"; done
total=$(count "$dom" '^<tr class="case"')
nonok=$(count "$dom" '^<tr class="case" data-nonok="1"')
[ "$total" -gt 0 ] || fail "no case rows"
[ "$(count "$dom" '^<tr class="case".*hidden=""')" = 0 ] || fail "rows hidden with no filter"
grep -q "id=\"f-count\">$total of $total case(s) shown<" "$dom" || fail "filter count not shown"
# Client targets beside servers: the side-by-side table, one row per
# implementation, and client sections whose columns are the clients.
if grep -q '^<tr class="case"[^>]*data-text="client\.' "$dom"; then
  if grep -q '<td class="id">[^<]*</td><td>server</td>' "$dom"; then
    grep -q 'id="side-by-side"' "$dom" || fail "servers and clients, but no side-by-side table"
    grep -Eq '<td class="v [A-Z-]+" title="[^"]* as a client">' "$dom" || fail "the side-by-side table shows no client"
  fi
  grep -Eq 'id="sec-client\.[^"]*">.*<th>[^<]*-client</th>' "$dom" || fail "a client section has no client column"
fi

# "non-OK only", set by the address (?nonok): OK rows hidden, the others shown.
dom=$out/report-nonok.dom.html
run --dump-dom "file://$dir/report.html?nonok" >"$dom"
[ "$(rows "$dom" 0 0)" = 0 ] || fail "non-OK only: $(rows "$dom" 0 0) OK row(s) still shown"
[ "$(rows "$dom" 1 1)" = 0 ] || fail "non-OK only: $(rows "$dom" 1 1) non-OK row(s) hidden"
grep -q "id=\"f-count\">$nonok of $total case(s) shown<" "$dom" || fail "non-OK only: count is not $nonok of $total"

# "targets that differ" (?differ): only the rows whose targets disagree; with
# a single target the box is disabled and every row stays.
dom=$out/report-differ.dom.html
run --dump-dom "file://$dir/report.html?differ" >"$dom"
if grep -q 'id="f-differ" disabled' "$dom"; then want=$total; else want=$(count "$dom" '^<tr class="case" data-nonok="[01]" data-differ="1"'); fi
grep -q "id=\"f-count\">$want of $total case(s) shown<" "$dom" || fail "targets that differ: count is not $want of $total"

# The search box, set by the fragment (#q=...): only the matching rows.
dom=$out/report-search.dom.html
run --dump-dom "file://$dir/report.html#q=handshake.polling" >"$dom"
want=$(count "$dom" '^<tr class="case"[^>]*data-text="[^"]*handshake\.polling')
[ "$want" -gt 0 ] || fail "search: no row holds handshake.polling"
grep -q "id=\"f-count\">$want of $total case(s) shown<" "$dom" || fail "search: count is not $want of $total"

# A case page: trace, spec link, re-run command.
dom=$out/case.dom.html
run --dump-dom "file://$page" >"$dom"
grep -q 'Wire trace' "$dom" || fail "case page has no trace"
grep -Eq 'href="https://(socket\.io/docs/v4/(engine|socket)-io-protocol/|github\.com/socketio/(engine|socket)\.io-protocol/tree/v[34])"' "$dom" \
  || fail "case page does not link the specification"
grep -Eq 'id="rerun">siospec [^<]* --case [^<]+</code>' "$dom" || fail "case page has no re-run command"
grep -q 'id="copy"' "$dom" || fail "case page has no copy button"

run --window-size=1400,1800 --screenshot="$out/report.png" "file://$dir/report.html"
run --window-size=1400,1800 --screenshot="$out/report-nonok.png" "file://$dir/report.html?nonok"
run --window-size=1400,1800 --screenshot="$out/case.png" "file://$page"
for png in "$out/report.png" "$out/report-nonok.png" "$out/case.png"; do
  [ -s "$png" ] || fail "no screenshot $png"
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$png is not a PNG"
  [ "$(stat -c %s "$png")" -gt 20000 ] || fail "$png is suspiciously small (blank page?)"
done
echo "check-report-html: OK ($dir/report.html: $total rows, $nonok non-OK; $(basename "$page") renders; screenshots in $out)"
