"""The master keyring every test service and benchmark uses: a fixed test key, never a deployment's."""

import base64
import os

TEST_MASTER_KEYS = "test:" + base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")


def use_test_keyring() -> None:
    """Give MASTER_KEYS to settings read from the environment and to every process started from here (unless the
    environment already names a keyring)."""
    os.environ.setdefault("MASTER_KEYS", TEST_MASTER_KEYS)
