"""Create (or update the passwords of) DocVault's MongoDB users (compose's one-shot ``mongo-init``).

Connects as the root user the mongo image created at its first start (``MONGO_USERNAME``/``MONGO_PASSWORD``,
the same settings as the services: service_kit.settings.MongoSettings) and makes sure that

* ``docvault-api`` may read (``readAnyDatabase``), and write only the data keys (``readWrite`` on
  ``<MONGO_DATABASE>_keys``): the API is the key service, creating a person's key on first use; it never writes
  a read model;
* ``docvault-processors`` may read and write (``readWriteAnyDatabase``): read models, checkpoints, leases, the
  version the API serves (``rebuild``) and the data keys (a v1 event of a person without one creates it,
  ``keys rotate`` re-wraps them).

MongoDB roles cannot name databases by pattern, and every projection version has its own database
(``<MONGO_DATABASE>_v<N>``), so the roles cover all databases of DocVault's own server; neither may manage
users. Run again, it sets the passwords from the secrets, which is how they are rotated. Retries with backoff
(``MONGO_INIT_ATTEMPTS``) while MongoDB is starting; exit 0 when both users match the secrets, 1 when MongoDB
never answered or refused the root user, 78 on a settings error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, SecretStr
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from service_kit.keystore import keys_database_name
from service_kit.settings import EnvSettings, MongoSettings, load_settings

MAX_DELAY_SECONDS = 5.0


class MongoUsersSettings(EnvSettings):
    """The root user's connection (``MONGO_*``, as the services have it) and the passwords to set; no default:
    a missing secret is an error, never a fallback."""

    mongo_api_password: SecretStr
    mongo_processors_password: SecretStr
    mongo_init_attempts: int = Field(default=30, ge=1)
    mongo: MongoSettings = Field(default_factory=MongoSettings)


@dataclass(frozen=True)
class User:
    name: str
    role: str  # on every database
    writes_keys: bool = False  # also readWrite on <MONGO_DATABASE>_keys (covered already by a readWrite role)


API_USER = User("docvault-api", "readAnyDatabase", writes_keys=True)
PROCESSORS_USER = User("docvault-processors", "readWriteAnyDatabase")


def roles_of(user: User, database: str) -> list[dict[str, str]]:
    """The roles to grant ``user`` for DocVault's database ``database`` (``MONGO_DATABASE``)."""
    roles = [{"role": user.role, "db": "admin"}]
    if user.writes_keys:
        roles.append({"role": "readWrite", "db": keys_database_name(MongoSettings(database=database))})
    return roles


def passwords_of(settings: MongoUsersSettings) -> dict[User, str]:
    return {
        API_USER: settings.mongo_api_password.get_secret_value(),
        PROCESSORS_USER: settings.mongo_processors_password.get_secret_value(),
    }


def ensure_user(admin: Any, user: User, password: str, database: str) -> str:
    """Create the user, or set its password and roles again; returns what was done."""
    roles = roles_of(user, database)
    try:
        admin.command("createUser", user.name, pwd=password, roles=roles, mechanisms=["SCRAM-SHA-256"])
        return "created"
    except OperationFailure as error:
        if error.code != 51003:  # UserAlreadyExists
            raise
    admin.command("updateUser", user.name, pwd=password, roles=roles, mechanisms=["SCRAM-SHA-256"])
    return "updated"


def ensure_users(settings: MongoSettings, passwords: Mapping[User, str], attempts: int) -> dict[str, str]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.url.get_secret_value(),
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        serverSelectionTimeoutMS=settings.timeout_ms,
        retryWrites=False,
    )
    delay = 0.5
    try:
        for attempt in range(1, attempts + 1):
            try:
                return {
                    user.name: ensure_user(client.admin, user, password, settings.database)
                    for user, password in passwords.items()
                }
            except PyMongoError as error:
                if attempt == attempts or isinstance(error, OperationFailure) and error.code in (13, 18):
                    raise  # unauthorized / authentication failed: waiting does not help
                print(
                    f"mongo-init: MongoDB not ready ({type(error).__name__}); attempt {attempt}/{attempts}",
                    file=sys.stderr,
                )
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY_SECONDS)
    finally:
        client.close()
    raise AssertionError("unreachable")


def main() -> int:
    settings = load_settings(MongoUsersSettings, "mongo-init")
    try:
        done = ensure_users(settings.mongo, passwords_of(settings), settings.mongo_init_attempts)
    except PyMongoError as error:
        print(f"mongo-init: error: {type(error).__name__}: {str(error)[:300]}", file=sys.stderr)
        return 1
    print("mongo-init: " + ", ".join(f"{name} {what}" for name, what in done.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
