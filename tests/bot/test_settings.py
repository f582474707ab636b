"""Bot settings come from the environment; webhook mode refuses to start half-configured."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import CLOUD_DOWNLOAD_LIMIT, BotConfig, BotSettings


def test_settings_default_to_polling_and_the_cloud_limit_when_only_the_token_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    settings = BotSettings()
    assert settings.bot_mode == "polling" and settings.max_download_bytes == CLOUD_DOWNLOAD_LIMIT
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert BotConfig.from_settings(settings).max_download_bytes == CLOUD_DOWNLOAD_LIMIT
    assert BotConfig.from_settings(settings).event_budget_per_hour == 200


def test_settings_take_the_event_budget_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("EVENT_BUDGET_PER_HOUR", "50")
    assert BotConfig.from_settings(BotSettings()).event_budget_per_hour == 50
    monkeypatch.setenv("EVENT_BUDGET_PER_HOUR", "0")
    with pytest.raises(ValidationError):
        BotSettings()


def test_settings_refuse_when_the_token_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    with pytest.raises(ValidationError):
        BotSettings()


def test_settings_refuse_webhook_mode_when_url_or_secret_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("BOT_MODE", "webhook")
    monkeypatch.setenv("WEBHOOK_BASE_URL", "https://bot.example")
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        BotSettings()
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret")
    assert BotSettings().webhook_url == "https://bot.example/telegram/webhook"


def test_settings_take_a_local_server_limit_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://bot-api:8081")
    monkeypatch.setenv("TELEGRAM_API_LOCAL", "true")
    monkeypatch.setenv("MAX_DOWNLOAD_BYTES", str(2 * 1024**3))
    config = BotConfig.from_settings(BotSettings())
    assert config.telegram_local and config.max_download_bytes == 2 * 1024**3


def test_settings_take_a_time_zone_and_refuse_an_unknown_one_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    assert BotConfig.from_settings(BotSettings()).time_zone == "Europe/Moscow"
    monkeypatch.setenv("BOT_TIME_ZONE", "Asia/Yekaterinburg")
    assert BotConfig.from_settings(BotSettings()).time_zone == "Asia/Yekaterinburg"
    for wrong in ("Mars/Olympus", "../../etc/passwd", ""):
        monkeypatch.setenv("BOT_TIME_ZONE", wrong)
        with pytest.raises(ValidationError, match="time zone"):
            BotSettings()


def test_settings_take_reminder_days_latest_first_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    assert BotSettings().reminder_days_before == (30, 7)
    monkeypatch.setenv("REMINDER_DAYS", "7,60,7,1")
    monkeypatch.setenv("EXPIRING_WITHIN_DAYS", "90")
    settings = BotSettings()
    assert settings.reminder_days_before == (60, 7, 1)
    assert BotConfig.from_settings(settings).expiring_within_days == 90


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REMINDER_DAYS", ""),
        ("REMINDER_DAYS", "30;7"),
        ("REMINDER_DAYS", "-7"),
        ("REMINDER_DAYS", "400"),
        ("REMINDER_HOUR", "24"),
        ("REMINDER_CHECK_SECONDS", "0"),
        ("EXPIRING_WITHIN_DAYS", "0"),
    ],
)
def test_settings_refuse_reminder_settings_when_out_of_range(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        BotSettings()
