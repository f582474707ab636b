"""Create the bucket DocVault keeps files in, if it is missing (compose's one-shot `s3-init`).

Reads the same S3_* variables as the API (service_kit.settings.S3Settings) and retries with backoff while the
S3 server finishes starting. Exit 0 when the bucket exists (created now or before), 1 when it could not be
created after S3_INIT_ATTEMPTS attempts (default 20, about a minute).
"""

from __future__ import annotations

import os
import sys
import time

from minio import Minio

from service_kit.s3 import ClientTuning, s3_client
from service_kit.settings import S3Settings, load_settings

MAX_DELAY_SECONDS = 5.0
ENVIRONMENT = ("S3_INIT_ATTEMPTS",)  # read here besides S3Settings


def bucket_client(settings: S3Settings) -> Minio:
    # Retries are this script's own (below), so a refused connection fails fast instead of inside urllib3.
    return s3_client(settings, ClientTuning(connect_timeout_seconds=3.0, read_timeout_seconds=10.0, retries=0))


def ensure_bucket(settings: S3Settings, attempts: int, first_delay: float = 0.5) -> bool:
    """True when the bucket was created now, False when it was there already; the last error after ``attempts``."""
    client = bucket_client(settings)
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            if client.bucket_exists(settings.bucket):
                return False
            client.make_bucket(settings.bucket)
            return True
        except Exception as error:  # S3Error, urllib3's errors, OSError: all mean "not yet"
            if attempt == attempts:
                raise
            print(
                f"S3 at {settings.endpoint} not ready ({error!r}); attempt {attempt}/{attempts}, next in {delay:.1f} s",
                file=sys.stderr,
            )
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
    raise AssertionError("unreachable")


def main() -> int:
    settings = load_settings(S3Settings, "s3-init")
    attempts = max(1, int(os.environ.get("S3_INIT_ATTEMPTS", "20")))
    try:
        created = ensure_bucket(settings, attempts)
    except Exception as error:
        print(f"error: could not create bucket {settings.bucket!r} at {settings.endpoint}: {error!r}", file=sys.stderr)
        return 1
    print(f"bucket {settings.bucket!r} {'created' if created else 'exists'} at {settings.endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
