#!/usr/bin/env bash
# System packages the checks need beyond Python (Debian). Idempotent; run as root on CI.
#   prometheus -> promtool   (tests/infra: promtool check config / check rules / test rules)
#   nginx      -> nginx      (tests/infra: nginx -t on infra/nginx/nginx.conf)
# Only the binaries are wanted. Debian's packages would start daemons on :9090 and :80, so the install runs
# with a policy-rc.d that forbids starting services, and anything that started anyway is stopped and
# disabled. Quick (no apt at all) when both binaries are already there.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

packages=(prometheus nginx)
binaries=(promtool nginx)

have_all() {
  local binary
  for binary in "${binaries[@]}"; do
    command -v "$binary" >/dev/null 2>&1 || return 1
  done
}

stop_daemons() {  # by service manager or pid file only; services that are not there are ignored
  local service
  for service in prometheus nginx; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$service" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$service" stop >/dev/null 2>&1 || true
    fi
  done
  if [ -s /run/nginx.pid ]; then
    nginx -s quit >/dev/null 2>&1 || true
  fi
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system.sh: ${packages[*]} must be installed and that needs root (missing: ${binaries[*]})" >&2
  exit 1
fi

echo "install-system.sh: installing ${packages[*]} (for promtool and nginx -t)"
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from scripts/install-system.sh: do not start services\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  added_policy=1
fi
cleanup() { if [ -n "$added_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { echo "install-system.sh: apt-get update failed" >&2; exit 1; }
# --no-install-recommends keeps prometheus-node-exporter and the other recommends (and their daemons) out.
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
  || { echo "install-system.sh: apt-get install ${packages[*]} failed" >&2; exit 1; }
stop_daemons

have_all || { echo "install-system.sh: ${binaries[*]} still missing after installing ${packages[*]}" >&2; exit 1; }
echo "install-system.sh: $(promtool --version 2>&1 | head -n 1); $(nginx -v 2>&1)"
