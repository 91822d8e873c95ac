#!/usr/bin/env bash
# Verify every vendored file against SHA256SUMS (the same digests as the shared data set).
set -euo pipefail
cd "$(dirname "$0")"
sha256sum --check --strict --quiet SHA256SUMS && echo "OK: $(wc -l < SHA256SUMS) files verified"
