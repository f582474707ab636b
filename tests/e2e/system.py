"""The whole system as real processes on loopback, for end-to-end and chaos tests:
fake Telegram -> ``python -m bot`` -> RabbitMQ stream -> ``python -m stream_processors run`` -> MongoDB ->
``python -m api`` (+ S3) -> back to the bot.

``overrides`` point the services at other addresses of their dependencies (a chaos proxy, a Redis of the
test's own); ``restart`` stops a service gracefully or with SIGKILL and starts it again with the same
environment, as an operator or a crash would.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from service_kit.settings import MongoSettings, RabbitSettings, S3Settings
from tests.e2e.processes import (
    BOT_TOKEN,
    Chat,
    Service,
    bot_env,
    forget_keys,
    rabbit_env,
    redis_url,
    start_service,
    wait_http_ok,
)
from tests.fake_telegram.server import FakeTelegram
from tests.keyrings import TEST_MASTER_KEYS
from tests.mongo_cleanup import drop_databases
from tests.ports import free_port
from tests.s3_cleanup import remove_bucket
from tests.streams import fresh_streams

API_TOKEN = "e2e-service-token"
MODULES = {"processor": ("stream_processors", ("run",)), "api": ("api", ()), "bot": ("bot", ())}


@dataclass
class RunningSystem:
    telegram: FakeTelegram
    mode: str
    rabbit: RabbitSettings
    mongo: MongoSettings
    log_dir: Path
    api_url: str = ""
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)  # filled when the system stops

    def person(self, number: int) -> Chat:
        return Chat(self.telegram, number + (10_000 if self.mode == "webhook" else 0))

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    @property
    def metrics_urls(self) -> list[str]:
        return [self.url(name, "/metrics") for name in self.services]

    async def start(self, name: str) -> Service:
        module, args = MODULES[name]
        service = await start_service(name, module, self.envs[name], self.log_dir, *args)
        self.services[name] = service
        await wait_http_ok(self.url(name, "/healthz"), service)
        return service

    async def restart(self, name: str, kill: bool = False) -> int:
        """Stop ``name`` (SIGTERM, or SIGKILL with ``kill``) and start it again; returns its exit code."""
        service = self.services[name]
        if kill:
            service.process.send_signal(signal.SIGKILL)
        code = await service.stop()
        await self.start(name)
        return code

    async def stop_all(self) -> dict[str, int]:
        return {name: await service.stop() for name, service in reversed(list(self.services.items()))}


def _service_envs(
    system: RunningSystem,
    overrides: Mapping[str, str],
    bot_overrides: Mapping[str, str],
    redis_prefix: str,
    telegram_url: str,
) -> dict[str, dict[str, str]]:
    common = {
        **rabbit_env(system.rabbit),
        "MONGO_DATABASE": system.mongo.database,
        "HTTP_HOST": "127.0.0.1",
        "MASTER_KEYS": TEST_MASTER_KEYS,
    }
    return {
        "processor": {**common, "HTTP_PORT": str(system.ports["processor"]), **overrides},
        "api": {
            **common,
            "HTTP_PORT": str(system.ports["api"]),
            "API_SERVICE_TOKEN": API_TOKEN,
            "S3_BUCKET": f"e2e-{uuid.uuid4().hex[:8]}",
            "READ_MODEL_VERSION": "1",
            **overrides,
        },
        "bot": {
            **bot_env(
                system.mode,
                telegram_url,
                system.api_url,
                API_TOKEN,
                system.ports["bot"],
                redis_prefix,
                **rabbit_env(system.rabbit),
            ),
            **bot_overrides,
        },
    }


@contextlib.asynccontextmanager
async def running_system(
    mode: str,
    log_dir: Path,
    overrides: Mapping[str, str] | None = None,
    bot_overrides: Mapping[str, str] | None = None,
    telegram: FakeTelegram | None = None,
    require_clean_exit: bool = True,
) -> AsyncIterator[RunningSystem]:
    """All three services on fresh streams and databases; stopped and cleaned up afterwards.

    ``telegram`` is the fake Bot API server to start (a plain ``FakeTelegram`` by default). The exit codes
    are left in ``exit_codes``; with ``require_clean_exit`` the bot must exit cleanly (code 0) on SIGTERM
    and the caller sees an AssertionError otherwise.
    """
    mongo = MongoSettings(database=f"e2e{uuid.uuid4().hex[:10]}")
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    bot_redis = (bot_overrides or {}).get("REDIS_URL", redis_url(database=11))
    async with fresh_streams(f"e2e-{uuid.uuid4().hex[:8]}") as rabbit:
        telegram = telegram or FakeTelegram(BOT_TOKEN)
        telegram_runner, telegram_url = await telegram.start()
        system = RunningSystem(telegram, mode, rabbit, mongo, log_dir, ports={name: free_port() for name in MODULES})
        system.api_url = system.url("api", "")
        system.envs = _service_envs(system, overrides or {}, bot_overrides or {}, prefix, telegram_url)
        try:
            for name in MODULES:
                await system.start(name)
            yield system
        finally:
            system.exit_codes = await system.stop_all()
            await telegram_runner.cleanup()
            await drop_databases(mongo)
            await asyncio.to_thread(remove_bucket, S3Settings(bucket=system.envs["api"]["S3_BUCKET"]))
            with contextlib.suppress(Exception):  # a test may have stopped the bot's Redis for good
                await forget_keys(bot_redis, prefix)
    assert not require_clean_exit or system.exit_codes.get("bot") == 0, system.services["bot"].output()
