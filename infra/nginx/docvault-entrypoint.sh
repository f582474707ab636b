#!/bin/sh
# DocVault's start-up step in the official nginx image (mounted as /docker-entrypoint.d/40-docvault.sh; the
# image's entrypoint runs it before nginx starts, and stops when it fails).
#   1. TRUSTED_PROXIES="10.0.0.0/8 192.0.2.1" (space or comma separated) -> set_real_ip_from lines, so that the
#      client address comes from X-Forwarded-For only when a proxy you trust set it. Empty: the peer's address.
#   2. In the background: reload nginx when the certificate changes (certbot renewed it, tls-init replaced it),
#      checked every CERT_CHECK_SECONDS (default 60).
# `sh docvault-entrypoint.sh configure` does only 1, `... watch` only 2 in the foreground (tests use both).
set -eu

conf_dir=${DOCVAULT_NGINX_CONF_DIR:-/etc/nginx/conf.d}
cert=${DOCVAULT_NGINX_CERT:-/etc/nginx/tls/fullchain.pem}
trusted="$conf_dir/docvault-trusted-proxies.conf"

configure() {
    : >"$trusted.tmp"
    for entry in $(printf '%s' "${TRUSTED_PROXIES:-}" | tr ',' ' '); do
        case $entry in
            *[!0-9A-Fa-f:./]* | '')
                echo "nginx: settings error: TRUSTED_PROXIES entry '$entry' is not an IP address or CIDR" >&2
                rm -f "$trusted.tmp"
                exit 78
                ;;
        esac
        echo "set_real_ip_from $entry;" >>"$trusted.tmp"
    done
    mv "$trusted.tmp" "$trusted"
}

fingerprint() { cksum <"$cert" 2>/dev/null || echo missing; }

watch_certificate() {
    last=$(fingerprint)
    while sleep "${CERT_CHECK_SECONDS:-60}"; do
        now=$(fingerprint)
        if [ "$now" != "$last" ]; then
            last=$now
            echo "nginx: certificate changed, reloading"
            nginx -s reload || echo "nginx: reload failed; keeping the previous certificate" >&2
        fi
    done
}

case "${1:-}" in
    configure) configure ;;
    watch) watch_certificate ;;
    '')
        configure
        watch_certificate </dev/null >/dev/null 2>&1 &
        ;;
    *) echo "usage: $0 [configure|watch]" >&2; exit 64 ;;
esac
