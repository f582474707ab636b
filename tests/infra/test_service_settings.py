"""How the services read their settings in a deployment: secrets from ``NAME_FILE``, never a silent default when
such a file is missing; one line naming the variable for anything wrong; the bot's webhook address checked against
Telegram's rules with the mode it implies; Redis credentials and event isolation from settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from aiogram.fsm.storage.redis import RedisEventIsolation
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from redis.asyncio import Redis

from api.settings import ApiSettings
from bot.middlewares.person_locks import PersonLocks
from bot.runtime import event_isolation
from bot.settings import BotSettings, webhook_target
from service_kit.settings import EXIT_CONFIG, RabbitSettings, SettingsFileError, load_settings
from stream_processors.settings import ProcessorSettings
from tests.infra.infra_files import ROOT
from tests.keyrings import TEST_MASTER_KEYS


def test_settings_read_a_secret_from_its_file_without_the_final_line_break_when_name_file_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "password").write_text("s3cret\n")
    monkeypatch.setenv("RABBITMQ_PASSWORD_FILE", str(tmp_path / "password"))
    assert RabbitSettings().password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read it"), ("", "is empty")])
def test_settings_refuse_a_secret_file_that_is_missing_or_empty_instead_of_the_default_when_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "password").write_text(content)
    monkeypatch.setenv("RABBITMQ_PASSWORD_FILE", str(tmp_path / "password"))
    with pytest.raises(SettingsFileError, match=f"RABBITMQ_PASSWORD_FILE={tmp_path / 'password'}.*{message}"):
        RabbitSettings()


def test_settings_refuse_a_value_given_twice_when_name_and_name_file_are_both_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "password").write_text("one")
    monkeypatch.setenv("RABBITMQ_PASSWORD_FILE", str(tmp_path / "password"))
    monkeypatch.setenv("RABBITMQ_PASSWORD", "two")
    with pytest.raises(SettingsFileError, match="RABBITMQ_PASSWORD_FILE and RABBITMQ_PASSWORD are both set"):
        RabbitSettings()


def test_settings_accept_a_log_level_in_lower_case_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "info")
    assert ProcessorSettings().log_level == "INFO"


def test_settings_refuse_a_renewal_as_long_as_the_lease_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEASE_TTL_SECONDS", "4")
    monkeypatch.setenv("LEASE_RENEW_SECONDS", "3")
    with pytest.raises(ValueError, match="LEASE_RENEW_SECONDS must be at most half of LEASE_TTL_SECONDS"):
        ProcessorSettings()


@pytest.mark.parametrize(
    ("settings", "service", "env", "line"),
    [
        (
            ApiSettings,
            "api",
            {"API_SERVICE_TOKEN": "t" * 16, "MASTER_KEYS": TEST_MASTER_KEYS, "LOG_LEVEL": "loud"},
            "api: settings error: LOG_LEVEL='LOUD': Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
        (ApiSettings, "api", {}, "api: settings error: API_SERVICE_TOKEN is required; MASTER_KEYS is required"),
        (
            ProcessorSettings,
            "processor",
            {"MASTER_KEYS": "k1:c2hvcnQ"},
            "processor: settings error: MASTER_KEYS: master key 'k1' is 5 bytes, not 32",
        ),
        (
            ProcessorSettings,
            "processor",
            {"RABBITMQ_STREAM_PORT": "five", "MASTER_KEYS": TEST_MASTER_KEYS},
            "processor: settings error: RABBITMQ_STREAM_PORT='five': Input should be a valid integer, unable to parse "
            "string as an integer",
        ),
        (
            BotSettings,
            "bot",
            {"BOT_TOKEN": "not-a-token"},
            "bot: settings error: BOT_TOKEN: not a bot token: expected <digits>:<text> as @BotFather gives it",
        ),
        (
            BotSettings,
            "bot",
            {"BOT_TOKEN": "1:a", "BOT_MODE": "webhook", "WEBHOOK_SECRET": "s", "WEBHOOK_BASE_URL": "http://x.org"},
            "bot: settings error: WEBHOOK_BASE_URL='http://x.org': Telegram delivers webhooks over https only",
        ),
    ],
)
def test_load_settings_stops_with_one_line_naming_the_variable_and_exit_78_when_a_setting_is_wrong(
    settings: type[BaseSettings],
    service: str,
    env: dict[str, str],
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in (
        "API_SERVICE_TOKEN",
        "MASTER_KEYS",
        "LOG_LEVEL",
        "BOT_TOKEN",
        "BOT_MODE",
        "WEBHOOK_SECRET",
        "WEBHOOK_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(settings, service)
    assert (stopped.value.code, capsys.readouterr().err.splitlines()) == (EXIT_CONFIG, [line])


def test_api_stops_with_one_line_and_exit_78_when_started_with_a_bad_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "API_SERVICE_TOKEN": "short",
            "MASTER_KEYS": TEST_MASTER_KEYS,
        },
        cwd=ROOT,
    )
    assert (result.returncode, result.stderr.strip().splitlines()) == (
        78,
        ["api: settings error: API_SERVICE_TOKEN must be at least 16 characters"],
    )


def test_settings_error_never_shows_a_secret_value_when_it_is_wrong(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "wrong token with spaces")
    with pytest.raises(SystemExit):
        load_settings(BotSettings, "bot")
    error = capsys.readouterr().err
    assert "wrong token" not in error and "BOT_TOKEN" in error


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "https://docvault.example.org:8080",
            "port 8080: Telegram delivers webhooks only to ports 443, 80, 88 or 8443",
        ),
        ("https://192.168.1.10", "192.168.1.10 is not a public address"),
        ("https://docvault", "'docvault' is neither a public domain name nor an IP address"),
        ("ftp://docvault.example.org", "must look like https://host[:port][/path]"),
    ],
)
def test_webhook_target_refuses_what_telegrams_cloud_cannot_deliver_to_when_checked(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        webhook_target(url, cloud=True)


def test_webhook_target_names_the_certificate_mode_of_a_domain_and_of_a_bare_ip_when_checked() -> None:
    domain = webhook_target("https://docvault.example.org/", cloud=True)
    assert (domain.url, domain.certificate) == ("https://docvault.example.org/telegram/webhook", "publicly-trusted")
    bare = webhook_target("https://1.2.3.4:8443", cloud=True)
    assert (bare.port, bare.certificate) == (8443, "upload-self-signed")
    assert webhook_target("http://127.0.0.1:9999", cloud=False).port == 9999  # a Bot API server of one's own


def test_bot_settings_need_the_certificate_file_when_the_webhook_is_a_bare_ip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "BOT_TOKEN": "1:a",
        "BOT_MODE": "webhook",
        "WEBHOOK_SECRET": "s",
        "WEBHOOK_BASE_URL": "https://1.2.3.4:8443",
        "WEBHOOK_CERTIFICATE_PATH": str(tmp_path / "missing.pem"),
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="WEBHOOK_CERTIFICATE_PATH=.*missing.pem is not a file"):
        BotSettings()
    (tmp_path / "missing.pem").write_text("-----BEGIN CERTIFICATE-----")
    assert BotSettings().webhook.certificate == "upload-self-signed"


def test_bot_redis_url_carries_the_acl_user_and_password_when_given() -> None:
    settings = BotSettings(
        bot_token=SecretStr("1:a"),
        redis_url="redis://redis:6379/0",
        redis_username="docvault-bot",
        redis_password=SecretStr("p@ss/word"),
    )
    assert settings.redis_connection_url == "redis://docvault-bot:p%40ss%2Fword@redis:6379/0"
    assert BotSettings(bot_token=SecretStr("1:a")).redis_connection_url == "redis://127.0.0.1:6379/0"


async def test_bot_isolates_a_persons_updates_in_redis_when_event_isolation_is_redis() -> None:
    redis = Redis()
    try:
        chosen = event_isolation(BotSettings(bot_token=SecretStr("1:a"), event_isolation="redis"), redis)
        assert isinstance(chosen, RedisEventIsolation) and chosen.redis is redis
        assert isinstance(event_isolation(BotSettings(bot_token=SecretStr("1:a")), redis), PersonLocks)
    finally:
        await redis.aclose()
