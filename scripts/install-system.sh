#!/usr/bin/env bash
# System packages the checks need beyond Python (Debian). Idempotent; run as root on CI.
set -euo pipefail
