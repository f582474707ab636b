"""Bot settings, from the environment only (see docs/bot.md for the table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from service_kit.settings import RabbitSettings, ServiceSettings

TELEGRAM_CLOUD_URL = "https://api.telegram.org"
# getFile on Telegram's cloud Bot API serves files up to 20 MB; a local Bot API server allows more.
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
WEBHOOK_PATH = "/telegram/webhook"
DEFAULT_EVENT_BUDGET = 200


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
    api_base_url: str = "http://127.0.0.1:8000"
    api_service_token: SecretStr = SecretStr("")
    api_timeout_seconds: float = Field(default=10.0, gt=0)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "docvault"
    max_download_bytes: int = Field(default=CLOUD_DOWNLOAD_LIMIT, gt=0)
    flood_limit: int = Field(default=30, ge=1)
    flood_window_seconds: int = Field(default=10, ge=1)
    fsm_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    page_size: int = Field(default=8, ge=1, le=20)
    links_enabled: bool = False
    rabbitmq: RabbitSettings = Field(default_factory=RabbitSettings)
    # Events one person may append per hour (a fixed window, beside the flood limit on updates).
    event_budget_per_hour: int = Field(default=DEFAULT_EVENT_BUDGET, ge=1)

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> BotSettings:
        if self.bot_mode == "webhook" and not (self.webhook_base_url and self.webhook_secret):
            raise ValueError("BOT_MODE=webhook needs WEBHOOK_BASE_URL and WEBHOOK_SECRET")
        return self

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
    search_limit: int = 10
    event_budget_per_hour: int = DEFAULT_EVENT_BUDGET

    @classmethod
    def from_settings(cls, settings: BotSettings) -> BotConfig:
        return cls(settings.page_size, settings.max_download_bytes, settings.links_enabled,
                   settings.telegram_api_local, event_budget_per_hour=settings.event_budget_per_hour)
