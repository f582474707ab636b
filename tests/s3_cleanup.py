"""Removing what a test wrote to the shared S3 server."""

from __future__ import annotations

from service_kit.s3 import s3_client
from service_kit.settings import S3Settings


def remove_bucket(settings: S3Settings) -> None:
    """Empty and remove a bucket (if there is one)."""
    client = s3_client(settings)
    if not client.bucket_exists(settings.bucket):
        return
    for item in client.list_objects(settings.bucket, recursive=True):
        client.remove_object(settings.bucket, item.object_name)
    client.remove_bucket(settings.bucket)
