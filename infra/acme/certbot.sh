#!/bin/sh
# DocVault's certificate keeper for a domain, in the certbot/certbot image (compose service `certbot`).
#
# tls-init writes the domain PUBLIC_BASE_URL names into $TLS_DIR/acme-domain (empty for a bare IP or no URL:
# then this service only sleeps). Every ACME_CHECK_SECONDS (default 12 h; 1 h after a failure) it runs
# `certbot certonly --webroot`, which obtains the certificate on the first run and renews it when it has less
# than 30 days left, answering Let's Encrypt's HTTP-01 challenge through nginx's port 80 (shared webroot).
# A new certificate is copied for nginx (`deploy`, certbot's deploy hook), which reloads within a minute.
#   sh certbot.sh run       the loop (the service's command)
#   sh certbot.sh once      one round of it; exit 0 when there is nothing to do or the certificate is current
#   sh certbot.sh deploy    the deploy hook (RENEWED_LINEAGE set by certbot)
set -eu

tls=${TLS_DIR:-/var/lib/docvault/tls}
webroot=${ACME_WEBROOT:-/var/www/acme}

deploy() {
    : "${RENEWED_LINEAGE:?deploy runs as certbot's deploy hook}"
    umask 077
    cp "$RENEWED_LINEAGE/privkey.pem" "$tls/.privkey.pem.tmp"
    cp "$RENEWED_LINEAGE/fullchain.pem" "$tls/.fullchain.pem.tmp"
    chmod 0400 "$tls/.privkey.pem.tmp"
    chmod 0444 "$tls/.fullchain.pem.tmp"
    mv "$tls/.privkey.pem.tmp" "$tls/privkey.pem"
    mv "$tls/.fullchain.pem.tmp" "$tls/fullchain.pem"
    echo "certbot: new certificate for nginx from $RENEWED_LINEAGE"
}

obtain() {
    if [ -n "${ACME_EMAIL:-}" ]; then
        contact="--email $ACME_EMAIL"
    else
        contact="--register-unsafely-without-email"
    fi
    # shellcheck disable=SC2086  # $contact is two words on purpose
    certbot certonly --webroot -w "$webroot" -d "$1" --cert-name docvault --non-interactive --agree-tos \
        --keep-until-expiring $contact ${ACME_SERVER:+--server "$ACME_SERVER"} \
        --deploy-hook "sh $0 deploy"
}

once() {
    domain=$(cat "$tls/acme-domain" 2>/dev/null || true)
    if [ -n "$domain" ] && ! obtain "$domain"; then
        echo "certbot: no certificate for $domain yet (is port 80 of this host reachable from the internet" \
            "and does the name point here?)" >&2
        return 1
    fi
}

run() {
    while :; do
        if once; then sleep "${ACME_CHECK_SECONDS:-43200}"; else sleep "${ACME_RETRY_SECONDS:-3600}"; fi
    done
}

case "${1:-run}" in
    run) run ;;
    once) once ;;
    deploy) deploy ;;
    *) echo "usage: $0 run|deploy" >&2; exit 64 ;;
esac
