#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its WebDriver for the browser tests of the briefing pack.
# Idempotent: does nothing when both are already installed. Needs root (CI runs as root).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null || echo unknown)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "installed: $(chromium --version 2>/dev/null || echo chromium)"
