"""The master keyring every test service and benchmark uses: a fixed test key, never a deployment's."""

import base64
import hashlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from service_kit.crypto import MasterKeyring, PersonKeys

TEST_MASTER_KEYS = "test:" + base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
TEST_KEYRING = MasterKeyring.parse(TEST_MASTER_KEYS)


def use_test_keyring() -> None:
    """Give MASTER_KEYS to settings read from the environment and to every process started from here (unless the
    environment already names a keyring)."""
    os.environ.setdefault("MASTER_KEYS", TEST_MASTER_KEYS)


class DerivedKeys(Mapping[int, PersonKeys]):
    """Every person's data key, derived from their owner id (unit tests need keys without a key store)."""

    def __getitem__(self, owner_id: int) -> PersonKeys:
        seed = hashlib.sha256(b"docvault-test-data-key:" + str(owner_id).encode()).digest()
        return PersonKeys(owner_id, seed, seed.hex()[:16])

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, owner_id: object) -> bool:
        return isinstance(owner_id, int)

    def get(self, owner_id: int, default: Any = None) -> Any:
        return self[owner_id]


TEST_PEOPLE = DerivedKeys()
