"""Settings from the environment only (pydantic-settings). Each integration has its own prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.streams import DEAD_LETTER_STREAM, EVENTS_STREAM

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_file=None)


class RabbitSettings(_EnvSettings):
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


class MongoSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="MONGO_")
    url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/?retryWrites=false")
    database: str = "docvault"
    timeout_ms: int = Field(default=5000, gt=0)


class S3Settings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="S3_")
    endpoint: str = "127.0.0.1:9000"
    access_key: SecretStr = SecretStr("docvault")
    secret_key: SecretStr = SecretStr("docvault-secret")
    bucket: str = "docvault"
    secure: bool = False
    region: str = "us-east-1"


class ServiceSettings(_EnvSettings):
    """What every service has: logging and its own HTTP port for health and metrics."""

    log_level: LogLevel = "INFO"
    http_host: str = "0.0.0.0"
    http_port: int = 8080
