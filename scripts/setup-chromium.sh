#!/usr/bin/env bash
# Install (idempotently) the headless browser the dashboard tests drive: Debian's `chromium` and
# `chromium-driver` (STACK.md: browser downloads by playwright/selenium-manager fail offline, the
# Debian packages install from the ordinary apt mirrors). Does nothing when both binaries exist.
# Exits non-zero with a clear message when it cannot install them; the browser tests then skip
# and say why (mes_assets_tests/dashboard/conftest.py).
set -euo pipefail

CHROMIUM="${MES_CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${MES_CHROMEDRIVER:-/usr/bin/chromedriver}"

if [[ -x "${CHROMIUM}" && -x "${CHROMEDRIVER}" ]]; then
    echo "setup-chromium: ${CHROMIUM} and ${CHROMEDRIVER} are present; nothing to do"
    exit 0
fi

fail() {
    echo "setup-chromium: cannot install chromium + chromium-driver: $*" >&2
    echo "setup-chromium: install them yourself (Debian/Ubuntu: apt-get install -y chromium chromium-driver)" >&2
    echo "setup-chromium: or point MES_CHROMIUM / MES_CHROMEDRIVER at existing binaries;" >&2
    echo "setup-chromium: until then the dashboard browser tests are skipped" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian-based system)"

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        fail "not root and no password-less sudo"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "+ ${SUDO[*]} apt-get update"
"${SUDO[@]}" apt-get update -qq || fail "apt-get update failed"
echo "+ ${SUDO[*]} apt-get install -y chromium chromium-driver"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver \
    || fail "apt-get install failed"

[[ -x "${CHROMIUM}" ]] || fail "${CHROMIUM} still missing after apt-get install"
[[ -x "${CHROMEDRIVER}" ]] || fail "${CHROMEDRIVER} still missing after apt-get install"
echo "setup-chromium: ready: $("${CHROMIUM}" --version 2>/dev/null || echo chromium), $("${CHROMEDRIVER}" --version 2>/dev/null | head -1)"
