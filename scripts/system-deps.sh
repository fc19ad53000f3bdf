#!/usr/bin/env bash
# Installs the Debian packages rxledger's tests need when they are missing: the PostgreSQL server
# (the tests start their own throwaway cluster from its binaries) and Chromium (the browser tests
# drive Debian's /usr/bin/chromium through Playwright; never `playwright install`) and Pango for
# WeasyPrint's PDFs. Idempotent and
# quiet when all is there. Runs as root (CI and these machines) or through sudo.
set -euo pipefail

need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ]; then
  need+=(chromium fonts-liberation)
fi
# WeasyPrint (the controlled-substance reports as PDF) lays text out with Pango and HarfBuzz.
for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do
  if ! dpkg -s "$lib" >/dev/null 2>&1; then
    need+=("$lib")
  fi
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing Debian packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
