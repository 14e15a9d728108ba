#!/usr/bin/env bash
# Debian's Chromium for the real-browser tests (Playwright is pointed at /usr/bin/chromium;
# `playwright install` cannot download browsers on the project's machines). Skips when present.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    echo "test-setup: $CHROMIUM is present"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "test-setup: installing Debian chromium (apt-get; ~500 MB)"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
