"""docker-compose.yml against the code it configures: every variable compose gives one of our containers is one
its settings (or its start-up script) read, every required setting is given; each container gets only the secrets
it uses, from its own volume, written for the user it runs as; the users compose names exist in the servers' files
secrets-init writes, with the permissions of least privilege."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath

import pytest
from pydantic_settings import BaseSettings

from api.settings import ApiSettings
from bot.settings import BotSettings
from contracts.streams import DEAD_LETTER_STREAM, EVENTS_STREAM
from infra.docker import generate_secrets as gs
from infra.docker import mongo_users, tls_init
from infra.s3 import create_bucket
from service_kit.settings import S3Settings
from stream_processors.settings import ProcessorSettings
from tests.infra.infra_files import INFRA, Json, dockerfile_instructions, mounted_in, mounts, service_env, services

SECRET_DIR = "/run/docvault/secrets"
DELIVERY = PurePosixPath(gs.DELIVERY_DIR)
SETTINGS: dict[str, type[BaseSettings]] = {
    "bot": BotSettings,
    "api": ApiSettings,
    "processors": ProcessorSettings,
    "s3-init": S3Settings,
    "mongo-init": mongo_users.MongoUsersSettings,
}
SCRIPT_ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "secrets-init": gs.ENVIRONMENT,
    "tls-init": tls_init.ENVIRONMENT,
    "s3-init": create_bucket.ENVIRONMENT,
}
# The users the official images run as (their Dockerfiles: docker-library/rabbitmq 4.2/ubuntu, mongo 8.0,
# redis alpine; seaweedfs docker/Dockerfile.go_build; grafana's image runs as 472:0).
IMAGE_USERS = {
    "rabbitmq": (999, 999),
    "mongo": (999, 999),
    "redis": (999, 1000),
    "s3": (1000, 1000),
    "grafana": (472, 0),
}
SAMPLE = {name: f"sample-{name.lower()}" for name in gs.SECRET_NAMES}


def env_names(settings: type[BaseSettings]) -> Iterator[tuple[str, bool]]:
    """(variable, required) of every field, nested settings classes included."""
    prefix = settings.model_config.get("env_prefix") or ""
    for name, field in settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            yield from env_names(field.annotation)
        else:
            yield (field.alias or f"{prefix}{name}").upper(), field.is_required()


def disagreements(name: str, service: Json) -> list[str]:
    """What compose gives ``name`` that nothing reads, and what ``name`` requires that compose does not give."""
    readable: set[str] = set(SCRIPT_ENVIRONMENT.get(name, ()))
    required: set[str] = set()
    if name in SETTINGS:
        for variable, needed in env_names(SETTINGS[name]):
            readable |= {variable, f"{variable}_FILE"}
            if needed:
                required.add(variable)
    given = set(service_env(service))
    problems = [f"{name}: {variable} is given but nothing reads it" for variable in sorted(given - readable)]
    problems += [
        f"{name}: {variable} is required but not given"
        for variable in sorted(required)
        if not {variable, f"{variable}_FILE"} & given
    ]
    return problems


def delivered(recipient: str) -> dict[str, str]:
    """The files secrets-init writes for one service, from sample secrets."""
    spec = next(r for r in gs.RECIPIENTS if r.service == recipient)
    return spec.files(SAMPLE, gs.Context())


def recipient_of(service_name: str) -> str | None:
    """The recipient whose volume ``service_name`` mounts at the secrets directory."""
    for source, target, _ in mounts(services()[service_name]):
        if target == SECRET_DIR:
            deliveries = {t: s for s, t, _ in mounts(services()["secrets-init"])}
            for target_path, volume in deliveries.items():
                if volume == source and PurePosixPath(target_path).parent == DELIVERY:
                    return PurePosixPath(target_path).name
    return None


def secret_paths(service: Json) -> set[str]:
    """Every path under the secrets directory a service's command or environment names."""
    words = [str(part) for part in service.get("command") or []] + list(service_env(service).values())
    words += [str(part) for part in (service.get("healthcheck") or {}).get("test") or []]
    return {path for word in words for path in re.findall(rf"{SECRET_DIR}/[A-Za-z0-9_.-]+", word)}


# --- compose and the settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(SETTINGS) | set(SCRIPT_ENVIRONMENT)))
def test_compose_gives_each_of_our_containers_what_its_settings_read_when_configured(name: str) -> None:
    assert disagreements(name, services()[name]) == []


def test_compose_check_finds_a_misspelt_and_a_missing_variable_when_they_appear() -> None:
    bot = copy.deepcopy(services()["bot"])
    bot["environment"]["RABBITMQ_PASWORD_FILE"] = bot["environment"].pop("RABBITMQ_PASSWORD_FILE")
    del bot["environment"]["BOT_TOKEN_FILE"]
    assert disagreements("bot", bot) == [
        "bot: RABBITMQ_PASWORD_FILE is given but nothing reads it",
        "bot: BOT_TOKEN is required but not given",
    ]


def test_compose_secret_files_are_the_ones_secrets_init_writes_for_that_service_when_mounted() -> None:
    for name, service in services().items():
        paths = secret_paths(service)
        if not paths:
            continue
        recipient = recipient_of(name)
        assert recipient == name, f"{name} reads {sorted(paths)} but mounts no volume of its own there"
        files = delivered(recipient)
        assert {PurePosixPath(path).name for path in paths} <= set(files), name


def test_compose_every_secrets_volume_is_mounted_by_its_service_and_secrets_init_only_when_wired() -> None:
    assert mounted_in("secrets") == {"secrets-init": (gs.STORE_DIR, False)}
    for recipient in gs.RECIPIENTS:
        volume = f"secrets-{recipient.service}"
        assert mounted_in(volume) == {
            "secrets-init": (str(DELIVERY / recipient.service), False),
            recipient.service: (SECRET_DIR, True),
        }, volume


def test_compose_keeps_the_tls_key_with_nginx_and_its_keepers_when_wired() -> None:
    assert set(mounted_in("tls")) == {"tls-init", "nginx", "certbot"}
    assert mounted_in("tls")["nginx"][1] is True
    assert set(mounted_in("tls-public")) == {"tls-init", "bot"}
    bot = service_env(services()["bot"])
    assert bot["WEBHOOK_CERTIFICATE_PATH"] == f"{tls_init.TLS_PUBLIC_DIR}/fullchain.pem"


def test_secrets_go_to_the_user_each_service_runs_as_when_delivered() -> None:
    app_user = next(arguments for instruction, arguments in dockerfile_instructions() if instruction == "USER")
    for recipient in gs.RECIPIENTS:
        service = services()[recipient.service]
        if "build" in service:
            assert f"{recipient.uid}:{recipient.gid}" == service.get("user", app_user), recipient.service
        else:
            assert (recipient.uid, recipient.gid) == IMAGE_USERS[recipient.service], recipient.service
    assert services()["secrets-init"]["user"] == "0:0" and services()["tls-init"]["user"] == "101:101"


def test_each_secret_reaches_only_the_services_that_use_it_when_delivered() -> None:
    holders: dict[str, set[str]] = {}
    for recipient in gs.RECIPIENTS:
        for content in delivered(recipient.service).values():
            for name, value in SAMPLE.items():
                if value in content:
                    holders.setdefault(name, set()).add(recipient.service)
    assert holders["BOT_TOKEN"] == {"bot"}
    assert holders["API_SERVICE_TOKEN"] == {"bot", "api"}
    assert holders["LINK_SIGNING_KEY"] == {"api"}
    assert holders["WEBHOOK_SECRET"] == {"bot"}
    assert holders["RABBITMQ_BOT_PASSWORD"] == {"bot"} and holders["RABBITMQ_PROCESSORS_PASSWORD"] == {"processors"}
    assert holders["MONGO_API_PASSWORD"] == {"api", "mongo-init"}
    assert holders["MONGO_PROCESSORS_PASSWORD"] == {"processors", "mongo-init"}
    assert holders["MONGO_ROOT_PASSWORD"] == {"mongo", "mongo-init"}
    assert holders["S3_API_SECRET_KEY"] == {"api", "s3"} and holders["S3_ADMIN_SECRET_KEY"] == {"s3-init", "s3"}
    assert holders["GRAFANA_ADMIN_PASSWORD"] == {"grafana"}
    assert "RABBITMQ_ADMIN_PASSWORD" not in holders and "REDIS_BOT_PASSWORD" in holders  # hashes only


# --- the users compose names, in the servers' own files -------------------------------------------------------


def env_of(name: str) -> Mapping[str, str]:
    return service_env(services()[name])


def test_compose_user_names_are_the_users_secrets_init_creates_when_services_log_in() -> None:
    assert env_of("bot")["RABBITMQ_USERNAME"] == gs.RABBITMQ_USERS["bot"]
    assert env_of("processors")["RABBITMQ_USERNAME"] == gs.RABBITMQ_USERS["processors"]
    assert env_of("api")["MONGO_USERNAME"] == gs.MONGO_USERS["api"] == mongo_users.API_USER.name
    assert env_of("processors")["MONGO_USERNAME"] == gs.MONGO_USERS["processors"] == mongo_users.PROCESSORS_USER.name
    assert (
        env_of("mongo-init")["MONGO_USERNAME"]
        == gs.MONGO_USERS["root"]
        == env_of("mongo")["MONGO_INITDB_ROOT_USERNAME"]
    )
    assert env_of("bot")["REDIS_USERNAME"] == gs.REDIS_USER
    assert (
        env_of("api")["S3_ACCESS_KEY"] == gs.S3_KEYS["api"]
        and env_of("s3-init")["S3_ACCESS_KEY"] == gs.S3_KEYS["admin"]
    )


def test_rabbitmq_permissions_let_the_bot_only_write_the_event_stream_when_definitions_load() -> None:
    assert (gs.EVENTS_STREAM, gs.DEAD_LETTER_STREAM) == (EVENTS_STREAM, DEAD_LETTER_STREAM)
    definitions = json.loads(delivered("rabbitmq")["definitions.json"])
    permissions = {p["user"]: p for p in definitions["permissions"]}
    bot, processors = permissions["docvault-bot"], permissions["docvault-processors"]

    def allows(pattern: str, stream: str) -> bool:
        return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), stream) is not None

    assert allows(bot["write"], EVENTS_STREAM) and not allows(bot["write"], DEAD_LETTER_STREAM)
    assert not any(
        allows(bot[kind], stream) for kind in ("read", "configure") for stream in (EVENTS_STREAM, DEAD_LETTER_STREAM)
    )
    assert allows(processors["read"], EVENTS_STREAM) and allows(processors["write"], DEAD_LETTER_STREAM)
    assert not allows(processors["write"], EVENTS_STREAM)
    assert "guest" not in {user["name"] for user in definitions["users"]}


def test_rabbitmq_loads_the_definitions_secrets_init_writes_when_it_boots() -> None:
    conf = (INFRA / "rabbitmq" / "docvault.conf").read_text(encoding="utf-8")
    assert f"definitions.local.path = {SECRET_DIR}/definitions.json" in conf
    assert "definitions.import_backend = local_filesystem" in conf


def test_redis_acl_confines_the_bot_to_its_key_prefix_when_loaded() -> None:
    acl = delivered("redis")["users.acl"].splitlines()
    assert "user default off" in acl
    bot_line = next(line for line in acl if line.startswith(f"user {gs.REDIS_USER} "))
    assert f"~{BotSettings.model_fields['redis_prefix'].default}:*" in bot_line.split()
    assert SAMPLE["REDIS_BOT_PASSWORD"] not in bot_line and "-@admin" in bot_line and "-@dangerous" in bot_line


def test_s3_identities_give_the_api_its_bucket_only_when_loaded() -> None:
    identities = {i["name"]: i for i in json.loads(delivered("s3")["s3.json"])["identities"]}
    expected = ["Read:docvault", "Write:docvault", "List:docvault", "Tagging:docvault"]
    assert identities[gs.S3_KEYS["api"]]["actions"] == expected
    assert "Admin" in identities[gs.S3_KEYS["admin"]]["actions"]
