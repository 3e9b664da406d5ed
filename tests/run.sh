#!/usr/bin/env bash
# Builds everything and runs all tests; the last line is "N passed, N failed".
# Set-up it needs (npm reference tokenizers, PostgreSQL for service tests) is installed by the build and the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
# The PDF figure tests read text back with pdftotext (Debian poppler-utils): install it when missing and we are root.
if ! command -v pdftotext >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get install -y -q poppler-utils || { apt-get update -q && apt-get install -y -q poppler-utils; }; } >/dev/null 2>&1
  fi
  command -v pdftotext >/dev/null || echo "warning: pdftotext not found (apt-get install poppler-utils); PDF text tests will fail" >&2
fi
# Figures name DejaVu Sans (Debian fonts-dejavu-core); with no font at all OxyPlot's export fails: install it when missing and we are root.
if ! fc-list 2>/dev/null | grep -q "DejaVu Sans"; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get install -y -q fonts-dejavu-core fontconfig || { apt-get update -q && apt-get install -y -q fonts-dejavu-core fontconfig; }; } >/dev/null 2>&1
  fi
  fc-list 2>/dev/null | grep -q "DejaVu Sans" || echo "warning: DejaVu Sans not found (apt-get install fonts-dejavu-core); figure tests will fail" >&2
fi
# The dashboard's browser tests drive Debian's chromium (a browser is never downloaded): install it when missing and we are root.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >/dev/null 2>&1
fi
[ -x /usr/bin/chromium ] || echo "warning: /usr/bin/chromium not found (apt-get install chromium); dashboard browser tests will fail" >&2
# The server tests start their own PostgreSQL 15 on loopback (initdb in a temporary directory, never the system
# service): install the binaries when missing and we are root.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get install -y -q --no-install-recommends postgresql-15 || { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15; }; } >/dev/null 2>&1
  fi
  [ -x /usr/lib/postgresql/15/bin/initdb ] || echo "warning: PostgreSQL 15 not found (apt-get install postgresql-15); PostgreSQL server tests will fail" >&2
fi
dotnet build HeadClassifier.sln -c Release -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }
log=$(mktemp)
dotnet tests/HeadClassifier.Tests/bin/Release/net10.0/HeadClassifier.Tests.dll -noColor "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$log" | tail -n 1)
rm -f "$log"
if [ -z "$summary" ]; then echo "0 passed, 1 failed"; exit 1; fi
total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$summary")
errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$summary")
notrun=$(sed -nE 's/.*Not Run: ([0-9]+).*/\1/p' <<<"$summary"); notrun=${notrun:-0}
passed=$((total - failed - skipped - notrun))
echo "$passed passed, $((failed + errors)) failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$errors" -eq 0 ]
