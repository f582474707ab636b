"""Bot settings, from the environment only (see docs/bot.md for the table)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram.utils.token import TokenValidationError, validate_token
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from service_kit.settings import RabbitSettings, ServiceSettings

TELEGRAM_CLOUD_URL = "https://api.telegram.org"
# getFile on Telegram's cloud Bot API serves files up to 20 MB; a local Bot API server allows more.
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
# Telegram tells a bot nobody's time zone; times are shown in this one, with its name (bot.ui.dates).
DEFAULT_TIME_ZONE = "Europe/Moscow"
WEBHOOK_PATH = "/telegram/webhook"
DEFAULT_EVENT_BUDGET = 200

# The only ports Telegram's cloud delivers webhooks to (https://core.telegram.org/bots/api#setwebhook).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
# setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
CertificateSource = Literal["upload-self-signed", "publicly-trusted"]


@dataclass(frozen=True)
class WebhookTarget:
    """Where Telegram delivers updates and how it trusts that address's certificate."""

    url: str
    host: str
    port: int
    # A bare IP address cannot get a publicly trusted certificate here: the bot uploads its self-signed one.
    certificate: CertificateSource

    def describe(self) -> str:
        kind = (
            "bare IP, self-signed certificate uploaded"
            if self.certificate == "upload-self-signed"
            else "domain, publicly trusted certificate (ACME)"
        )
        return f"{self.url} ({kind})"


def webhook_target(base_url: str, cloud: bool) -> WebhookTarget:
    """Check ``WEBHOOK_BASE_URL`` against what Telegram's cloud accepts; raises ``ValueError`` saying what is
    wrong. A self-hosted Bot API server (``cloud`` false) sets its own rules, so only the form is checked."""
    try:
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise ValueError(f"WEBHOOK_BASE_URL={base_url!r} is not a URL ({error})") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise ValueError(f"WEBHOOK_BASE_URL={base_url!r} must look like https://host[:port][/path]")
    address = _ip_address(host)
    certificate: CertificateSource = "upload-self-signed" if address is not None else "publicly-trusted"
    target = WebhookTarget(base_url.rstrip("/") + WEBHOOK_PATH, host, port, certificate)
    if cloud:
        _check_cloud_rules(base_url, parts.scheme, target, address)
    return target


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_cloud_rules(
    base_url: str, scheme: str, target: WebhookTarget, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
) -> None:
    problem = None
    if scheme != "https":
        problem = "Telegram delivers webhooks over https only"
    elif target.port not in TELEGRAM_WEBHOOK_PORTS:
        problem = f"port {target.port}: Telegram delivers webhooks only to ports 443, 80, 88 or 8443"
    elif address is not None and not address.is_global:
        problem = f"{address} is not a public address: Telegram cannot reach it"
    elif address is None and not HOST_NAME.match(target.host):
        problem = f"{target.host!r} is neither a public domain name nor an IP address"
    if problem:
        raise ValueError(f"WEBHOOK_BASE_URL={base_url!r}: {problem}")


class BotSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="")

    bot_token: SecretStr
    bot_mode: Literal["polling", "webhook"] = "polling"
    telegram_api_url: str = TELEGRAM_CLOUD_URL
    # A local Bot API server started with --local answers getFile with a path on its own disk.
    telegram_api_local: bool = False
    webhook_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # The public certificate uploaded with setWebhook when WEBHOOK_BASE_URL is a bare IP (infra/tls/tls_init.py).
    webhook_certificate_path: Path | None = None
    # memory: updates of one person are serialised inside this process (one replica); redis: across every
    # replica behind the webhook (docker compose up --scale bot=N).
    event_isolation: Literal["memory", "redis"] = "memory"
    api_base_url: str = "http://127.0.0.1:8000"
    api_service_token: SecretStr = SecretStr("")
    api_timeout_seconds: float = Field(default=10.0, gt=0)
    redis_url: str = "redis://127.0.0.1:6379/0"
    # An ACL user of its own (docker-compose.yml); the password from REDIS_PASSWORD_FILE, never in the URL.
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_prefix: str = "docvault"
    max_download_bytes: int = Field(default=CLOUD_DOWNLOAD_LIMIT, gt=0)
    flood_limit: int = Field(default=30, ge=1)
    flood_window_seconds: int = Field(default=10, ge=1)
    fsm_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    page_size: int = Field(default=8, ge=1, le=20)
    links_enabled: bool = False
    bot_time_zone: str = DEFAULT_TIME_ZONE
    rabbitmq: RabbitSettings = Field(default_factory=RabbitSettings)
    # Events one person may append per hour (a fixed window, beside the flood limit on updates).
    event_budget_per_hour: int = Field(default=DEFAULT_EVENT_BUDGET, ge=1)
    # An album is taken once no message of it arrived for this long (Telegram sends its messages within a second).
    album_window_seconds: float = Field(default=1.0, gt=0, le=10)
    # Valid-until reminders (docs/adr/0015): days before the date, from which hour of the day in BOT_TIME_ZONE,
    # how often the sender asks the API, and how far ahead "Expiring soon" looks.
    reminders_enabled: bool = True
    reminder_days: str = Field(default="30,7", pattern=r"^[0-9]{1,3}(,[0-9]{1,3}){0,9}$")
    reminder_hour: int = Field(default=9, ge=0, le=23)
    reminder_check_seconds: float = Field(default=60.0, gt=0, le=3600)
    expiring_within_days: int = Field(default=30, ge=1, le=366)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        try:
            validate_token(value.get_secret_value())
        except TokenValidationError:
            raise ValueError("not a bot token: expected <digits>:<text> as @BotFather gives it") from None
        return value

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days_within_a_year(cls, value: str) -> str:
        if max(int(day) for day in value.split(",")) > 366:
            raise ValueError("each day is at most 366 (a reminder a year ahead at most)")
        return value

    @property
    def reminder_days_before(self) -> tuple[int, ...]:
        """REMINDER_DAYS as numbers, latest first: "30,7" -> (30, 7)."""
        return tuple(sorted({int(day) for day in self.reminder_days.split(",")}, reverse=True))

    @field_validator("bot_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone of the IANA database (for example Europe/Moscow or UTC)") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - only")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> BotSettings:
        if self.bot_mode == "webhook":
            if not (self.webhook_base_url and self.webhook_secret):
                raise ValueError("BOT_MODE=webhook needs WEBHOOK_BASE_URL and WEBHOOK_SECRET")
            self._webhook_certificate_present(self.webhook)
        return self

    def _webhook_certificate_present(self, target: WebhookTarget) -> None:
        if target.certificate != "upload-self-signed" or not self.telegram_cloud:
            return
        path = self.webhook_certificate_path
        if path is None or not path.is_file():
            raise ValueError(
                f"WEBHOOK_BASE_URL names a bare IP ({target.host}): Telegram needs its self-signed "
                f"certificate, but WEBHOOK_CERTIFICATE_PATH={path} is not a file (tls-init writes it)"
            )

    @property
    def telegram_cloud(self) -> bool:
        """Telegram's own servers, whose webhook rules apply (a self-hosted Bot API server has its own)."""
        return self.telegram_api_url.rstrip("/") == TELEGRAM_CLOUD_URL

    @property
    def webhook(self) -> WebhookTarget:
        return webhook_target(self.webhook_base_url or "", self.telegram_cloud)

    @property
    def redis_connection_url(self) -> str:
        """``REDIS_URL`` with ``REDIS_USERNAME`` and ``REDIS_PASSWORD`` in it (credentials in the URL win)."""
        parts = urlsplit(self.redis_url)
        if parts.username or parts.password or not (self.redis_username or self.redis_password):
            return self.redis_url
        user = quote(self.redis_username or "", safe="")
        password = quote(self.redis_password.get_secret_value(), safe="") if self.redis_password else ""
        credentials = f"{user}:{password}" if password else user
        return urlunsplit(parts._replace(netloc=f"{credentials}@{parts.netloc}"))

    @property
    def webhook_url(self) -> str:
        return (self.webhook_base_url or "").rstrip("/") + WEBHOOK_PATH


@dataclass(frozen=True)
class BotConfig:
    """The few settings handlers need, injected through the dispatcher as ``config``."""

    page_size: int = 8
    max_download_bytes: int = CLOUD_DOWNLOAD_LIMIT
    links_enabled: bool = False
    telegram_local: bool = False
    time_zone: str = DEFAULT_TIME_ZONE
    event_budget_per_hour: int = DEFAULT_EVENT_BUDGET
    album_window_seconds: float = 1.0
    expiring_within_days: int = 30

    @classmethod
    def from_settings(cls, settings: BotSettings) -> BotConfig:
        return cls(
            settings.page_size,
            settings.max_download_bytes,
            settings.links_enabled,
            settings.telegram_api_local,
            event_budget_per_hour=settings.event_budget_per_hour,
            time_zone=settings.bot_time_zone,
            album_window_seconds=settings.album_window_seconds,
            expiring_within_days=settings.expiring_within_days,
        )
