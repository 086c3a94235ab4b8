#!/usr/bin/env bash
# Installs what the tests need beyond Python packages, once: Debian's `chromium`, the headless
# browser the Web UI tests load Temporal's UI in. Idempotent and quiet when all is there. Where
# it cannot install (not root, no apt-get), it says so and the browser tests skip.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-tools: no chromium, and no root apt-get to install it;" \
        "the Web UI tests will skip (install Debian's chromium package to run them)" >&2
    exit 0
fi
echo "ensure-test-tools: installing Debian's chromium for the Web UI tests (once)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Without recommends: no desktop services; one font package keeps failure screenshots legible.
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
command -v chromium >/dev/null
