"""Settings from the environment only (pydantic-settings). Each integration has its own prefix.

A secret may come from a file instead: ``NAME_FILE=/path`` gives ``NAME`` the file's content (Docker's usual
convention, used by docker-compose.yml for every secret). A named file that cannot be read is an error, never a
silent fall back to the code default. ``load_settings`` turns any settings error into one line naming the
variable and what is wrong, and exit code ``EXIT_CONFIG``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource

from contracts.streams import DEAD_LETTER_STREAM, EVENTS_STREAM
from service_kit.crypto import MasterKeyring

# sysexits.h EX_CONFIG: a configuration error (docker compose ps shows it; docs/operations.md explains it).
EXIT_CONFIG = 78
FILE_SUFFIX = "_FILE"


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]


def _parses_as_keyring(value: SecretStr) -> SecretStr:
    MasterKeyring.parse(value.get_secret_value())  # KeyringError is a ValueError: one line naming what is wrong
    return value


# MASTER_KEYS: the master keyring (service_kit/crypto.py, docs/privacy.md), held by the API and the processors only.
MasterKeys = Annotated[SecretStr, AfterValidator(_parses_as_keyring)]


def master_keyring(value: SecretStr) -> MasterKeyring:
    return MasterKeyring.parse(value.get_secret_value())


class SettingsFileError(ValueError):
    """A ``NAME_FILE`` variable names a file that cannot be used."""


def read_value_file(variable: str, path: str) -> str:
    """The content of the file ``variable`` names, without its final line break."""
    try:
        with open(path, encoding="utf-8") as file:
            value = file.read().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise SettingsFileError(f"{variable}={path}: cannot read it ({reason})") from None
    if not value:
        raise SettingsFileError(f"{variable}={path} is empty")
    return value


class FileVariablesSource(EnvSettingsSource):
    """``NAME_FILE`` variables, for the fields of one settings class only (other ``*_FILE`` variables are
    somebody else's). Giving both ``NAME`` and ``NAME_FILE`` is refused: which one wins would be a guess."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = {key.lower(): value for key, value in os.environ.items()}
        values: dict[str, str | None] = {}
        for name in self._env_names():
            path = environ.get(name + FILE_SUFFIX.lower())
            if not path:
                continue
            variable = (name + FILE_SUFFIX).upper()
            if environ.get(name):
                raise SettingsFileError(f"{variable} and {name.upper()} are both set: give only one of them")
            values[name] = read_value_file(variable, path)
        return values

    def _env_names(self) -> Iterator[str]:
        for field_name, field in self.settings_cls.model_fields.items():
            for _, env_name, _ in self._extract_field_info(field, field_name):
                yield env_name.lower()


class EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_file=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileVariablesSource(settings_cls), dotenv_settings, file_secret_settings


class RabbitSettings(EnvSettings):
    """RabbitMQ's stream protocol endpoint."""

    model_config = SettingsConfigDict(env_prefix="RABBITMQ_")
    host: str = "127.0.0.1"
    stream_port: int = 5552
    username: str = "guest"
    password: SecretStr = SecretStr("guest")
    vhost: str = "/"
    confirm_timeout_seconds: float = Field(default=5.0, gt=0)
    # Overridable so tests (and staging next to production) can use their own streams.
    events_stream: str = EVENTS_STREAM
    dead_letter_stream: str = DEAD_LETTER_STREAM


class MongoSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="MONGO_")
    url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/?retryWrites=false")
    # Credentials apart from the URL, so that the URL stays configuration and the password a secret file.
    username: str | None = None
    password: SecretStr | None = None
    database: str = "docvault"
    timeout_ms: int = Field(default=5000, gt=0)


class S3Settings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="S3_")
    endpoint: str = "127.0.0.1:9000"
    access_key: SecretStr = SecretStr("docvault")
    secret_key: SecretStr = SecretStr("docvault-secret")
    bucket: str = "docvault"
    secure: bool = False
    region: str = "us-east-1"


class ServiceSettings(EnvSettings):
    """What every service has: logging and its own HTTP port for health and metrics."""

    log_level: LogLevel = "INFO"
    http_host: str = "0.0.0.0"
    http_port: int = 8080


# --- one clear line for a bad setting ---------------------------------------------------------------------------

S = TypeVar("S", bound=BaseSettings)


def nested_settings(cls: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    """``cls`` and every settings class its fields hold, depth first."""
    yield cls
    for field in cls.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            yield from nested_settings(field.annotation)


def variable_of(cls: type[BaseSettings], field_name: str) -> tuple[str, bool]:
    """The environment variable of one field and whether its value is secret (never printed)."""
    field = cls.model_fields.get(field_name)
    prefix = cls.model_config.get("env_prefix") or ""
    name = (field.alias if field is not None and field.alias else f"{prefix}{field_name}").upper()
    annotation = str(field.annotation) if field is not None else ""
    return name, "SecretStr" in annotation


def describe_error(error: ValidationError | SettingsFileError, cls: type[BaseSettings]) -> str:
    """What is wrong, one clause per problem, with the variable's name; secret values are not shown."""
    if isinstance(error, SettingsFileError):
        return str(error)
    owner = next((c for c in nested_settings(cls) if c.__name__ == error.title), cls)
    clauses = []
    for problem in error.errors(include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        location = [part for part in problem["loc"] if isinstance(part, str)]
        if not location:
            clauses.append(message)
            continue
        variable, secret = variable_of(owner, location[0])
        if message.startswith(variable):  # the validator named it already
            clauses.append(message)
        elif problem["type"] == "missing":
            clauses.append(f"{variable} is required")
        elif secret:
            clauses.append(f"{variable}: {message}")
        else:
            clauses.append(f"{variable}={problem.get('input')!r}: {message}")
    return "; ".join(clauses)


def load_settings(cls: type[S], service: str) -> S:
    """``cls()`` from the environment, or one line on stderr and ``SystemExit(EXIT_CONFIG)``."""
    try:
        return cls()
    except (ValidationError, SettingsFileError) as error:
        print(f"{service}: settings error: {describe_error(error, cls)}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIG) from None
