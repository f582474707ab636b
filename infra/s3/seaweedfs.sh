#!/bin/sh
# Start SeaweedFS as DocVault's S3 server: master, volume server, filer and S3 gateway in one process
# (`weed server`), data in /data, the S3 API on :8333, one identity from S3_ACCESS_KEY / S3_SECRET_KEY.
# Runs inside the chrislusf/seaweedfs image after infra/docker/entrypoint.sh loaded the secrets.
# Extra arguments are passed on to `weed server`.
set -eu

: "${S3_ACCESS_KEY:?S3_ACCESS_KEY is required (the secrets step writes it)}"
: "${S3_SECRET_KEY:?S3_SECRET_KEY is required (the secrets step writes it)}"
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in
    *'"'* | *'\'*)
        echo "error: S3_ACCESS_KEY and S3_SECRET_KEY must not contain quotes or backslashes" >&2
        exit 64
        ;;
esac

data_dir=${SEAWEEDFS_DATA_DIR:-/data}
config=${SEAWEEDFS_S3_CONFIG:-${TMPDIR:-/tmp}/docvault-s3.json}
umask 077
cat >"$config" <<EOF
{
  "identities": [
    {
      "name": "docvault",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF

exec weed server \
    -dir="$data_dir" \
    -ip="${SEAWEEDFS_IP:-$(hostname)}" \
    -ip.bind=0.0.0.0 \
    -volume.max=0 \
    -master.volumeSizeLimitMB="${SEAWEEDFS_VOLUME_SIZE_LIMIT_MB:-1024}" \
    -s3 \
    -s3.port=8333 \
    -s3.config="$config" \
    "$@"
