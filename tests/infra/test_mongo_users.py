"""mongo-init's users and roles: the API reads everything and writes only the data keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from infra.docker.mongo_users import API_USER, PROCESSORS_USER, ensure_users, roles_of
from service_kit.settings import MongoSettings


def test_roles_of_grant_the_api_read_and_the_keys_database_write_when_database_named() -> None:
    assert roles_of(API_USER, "docvault") == [
        {"role": "readAnyDatabase", "db": "admin"},
        {"role": "readWrite", "db": "docvault_keys"},
    ]
    assert roles_of(PROCESSORS_USER, "docvault") == [{"role": "readWriteAnyDatabase", "db": "admin"}]


@pytest.fixture
def server_users() -> Iterator[MongoClient[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(MongoSettings().url.get_secret_value(), retryWrites=False)
    yield client
    for user in (API_USER, PROCESSORS_USER):
        if client.admin.command("usersInfo", user.name)["users"]:
            client.admin.command("dropUser", user.name)
    client.close()


@pytest.mark.integration
def test_ensure_users_creates_then_updates_users_with_their_roles_when_run_twice(
    server_users: MongoClient[dict[str, Any]],
) -> None:
    settings = MongoSettings(database="docvault")
    passwords = {API_USER: "api-" + "x" * 20, PROCESSORS_USER: "processors-" + "y" * 20}

    first = ensure_users(settings, passwords, attempts=1)
    second = ensure_users(settings, passwords, attempts=1)

    assert (first, second) == (
        {"docvault-api": "created", "docvault-processors": "created"},
        {"docvault-api": "updated", "docvault-processors": "updated"},
    )
    for user in (API_USER, PROCESSORS_USER):
        [info] = server_users.admin.command("usersInfo", user.name)["users"]
        assert info["roles"] == roles_of(user, "docvault")
