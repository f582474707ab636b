#!/bin/sh
# Export the secrets written by generate_secrets.py, then run the given command (exec, so it gets signals).
#
# A variable that is already set and non-empty (an explicit value from .env) wins over the file.
# DOCVAULT_SECRET_ALIASES="TARGET=SOURCE ..." copies a value to the name another program expects,
# e.g. RABBITMQ_DEFAULT_PASS=RABBITMQ_PASSWORD for the RabbitMQ image.
# Without the file (an image run on its own) the command simply runs with the environment it has,
# unless DOCVAULT_SECRETS_FILE names the file explicitly: then a missing file is an error.
set -eu

file=${DOCVAULT_SECRETS_FILE:-/var/lib/docvault/secrets/docvault.env}

valid_name() {
    case $1 in
        '' | [0-9]* | *[!A-Za-z0-9_]*) return 1 ;;
        *) return 0 ;;
    esac
}

if [ -r "$file" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        name=${line%%=*}
        valid_name "$name" || continue
        eval "current=\${$name:-}"
        if [ -z "$current" ]; then
            eval "export $line"
        fi
    done <"$file"
elif [ -n "${DOCVAULT_SECRETS_FILE:-}" ]; then
    echo "error: secrets file $file is missing or unreadable (did the 'secrets' service run?)" >&2
    exit 78
fi

for alias in ${DOCVAULT_SECRET_ALIASES:-}; do
    target=${alias%%=*}
    origin=${alias#*=}
    if ! valid_name "$target" || ! valid_name "$origin"; then
        echo "error: bad DOCVAULT_SECRET_ALIASES entry '$alias' (expected TARGET=SOURCE)" >&2
        exit 64
    fi
    eval "export $target=\"\${$origin:-}\""
done

exec "$@"
