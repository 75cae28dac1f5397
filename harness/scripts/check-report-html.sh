#!/usr/bin/env bash
# Checks that siospec's static HTML report renders in headless Chromium with
# no network: the matrix and one per-case page are loaded from file://, their
# DOM must hold the expected content, and screenshots are written.
#
#   harness/scripts/check-report-html.sh [REPORT_DIR] [OUT_DIR]
#
# REPORT_DIR defaults to reports/conformance (it must hold report.html, made by
# `siospec run`); screenshots go to OUT_DIR (default: a temp dir, printed).
# Needs Debian's `chromium` package; as root it is installed when missing
# (apt-get update && apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=$(cd "${1:-reports/conformance}" && pwd)
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

# No external resources at all: every href/src is relative.
if grep -Eq '(src|href)="(https?:)?//' "$dir/report.html"; then fail "report.html references the network"; fi

# A glob, not `ls | head`: under pipefail, head closing the pipe early kills
# ls with SIGPIPE and the script with it.
pages=("$dir"/cases/*/*.html)
page=${pages[0]}
[ -f "$page" ] || fail "no per-case page"

run() {
  local profile
  profile=$(mktemp -d)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --no-first-run --no-default-browser-check --user-data-dir="$profile" --hide-scrollbars \
    "$@" 2>/dev/null
  rm -rf "$profile"
}

run --dump-dom "file://$dir/report.html" >"$out/report.dom.html"
grep -q 'siospec conformance report' "$out/report.dom.html" || fail "matrix title not rendered"
grep -q 'eio4.handshake.polling.open' "$out/report.dom.html" || fail "case rows not rendered"
grep -q 'href="cases/' "$out/report.dom.html" || fail "no links to case pages"

run --dump-dom "file://$page" >"$out/case.dom.html"
grep -q 'Wire trace' "$out/case.dom.html" || fail "case page has no trace"

run --window-size=1400,1800 --screenshot="$out/report.png" "file://$dir/report.html"
run --window-size=1400,1800 --screenshot="$out/case.png" "file://$page"
for png in "$out/report.png" "$out/case.png"; do
  [ -s "$png" ] || fail "no screenshot $png"
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$png is not a PNG"
  [ "$(stat -c %s "$png")" -gt 20000 ] || fail "$png is suspiciously small (blank page?)"
done
echo "check-report-html: OK ($dir/report.html and $(basename "$page") render; screenshots in $out)"
