"""The bot's Redis restarted without persistence, and the bot itself restarted, in the middle of a dialog."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.chaos.flows import EN, send_until_saved, start_adding
from tests.chaos.observe import added_rows
from tests.chaos.report import FaultRow
from tests.e2e.processes import text_of
from tests.e2e.system import RunningSystem, running_system
from tests.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
PDF = b"%PDF-1.7\n" + b"lease " * 500


class OwnRedis:
    """A Redis server of the test's own, without persistence, which the test restarts (losing everything)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self._log = log_dir / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self._log),
            ]
        )
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout == b"PONG\n":
                return
            time.sleep(0.05)
        raise AssertionError(f"redis on :{self.port} did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def own_redis(log_dir: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(log_dir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def redis_and_system(tmp_path: Path) -> AsyncIterator[tuple[OwnRedis, RunningSystem]]:
    with own_redis(tmp_path) as redis:
        async with running_system("webhook", tmp_path, bot_overrides={"REDIS_URL": redis.url}) as system:
            yield redis, system


async def test_bot_starts_the_dialog_over_with_a_clear_message_when_its_redis_restarted_empty(
    redis_and_system: tuple[OwnRedis, RunningSystem], fault_report: list[FaultRow]
) -> None:
    redis, system = redis_and_system
    ann = system.person(1)
    await ann.says("/add")
    await ann.says("Leases")

    redis.restart()  # the dialog state is gone
    interrupted = await ann.says("Flat lease")
    assert text_of(interrupted) == EN("search.nothing_at_menu", query="Flat lease")  # searched for
    menu = await ann.presses("Add document")  # the menu of that reply works: the bot keeps working
    assert "What kind of document" in text_of(menu)
    await ann.says("Leases")
    await ann.says("Flat lease")
    assert await send_until_saved(ann, PDF, "lease.pdf") == 0

    row = await added_rows(
        system,
        [ann],
        "dialog restarted with a clear message; the bot kept working",
        "bot's Redis restarted without persistence mid-dialog",
    )
    assert (row.events_in, row.lost, row.duplicated) == (1, 0, 0)
    fault_report.append(row)


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_bot_continues_the_dialog_where_it_was_when_the_bot_restarts_mid_dialog(
    redis_and_system: tuple[OwnRedis, RunningSystem], fault_report: list[FaultRow], kill: bool
) -> None:
    _, system = redis_and_system
    ann, bob = system.person(1), system.person(2)
    await start_adding(ann, "Leases", "Flat lease")
    await bob.says("/add")
    await bob.says("Receipts")

    await system.restart("bot", kill=kill)

    assert await send_until_saved(ann, PDF, "lease.pdf") == 0  # waiting for the file, as before
    named = await bob.says("Coffee machine")  # naming the document, as before
    assert text_of(named) == EN("add.ask_file", name="Coffee machine")
    assert await send_until_saved(bob, PDF + b"receipt", "receipt.pdf") == 0

    how = "SIGKILL" if kill else "SIGTERM"
    row = await added_rows(
        system, [ann, bob], "both people continued where they were", f"bot restarted ({how}) mid-dialog, Redis up"
    )
    assert (row.events_in, row.lost, row.duplicated) == (2, 0, 0)
    fault_report.append(row)


async def test_bot_says_so_and_works_again_when_its_redis_is_down_for_a_while(
    redis_and_system: tuple[OwnRedis, RunningSystem],
) -> None:
    redis, system = redis_and_system
    ann = system.person(1)
    await ann.says("/start")

    redis.stop()
    busy = await ann.says("/documents")
    redis.start()
    assert text_of(busy) == EN("error.busy")

    again = await ann.says("/documents")
    assert text_of(again).startswith("You have no documents yet.")
