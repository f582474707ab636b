"""Telegram delivers a webhook update again when it saw no answer in time; each must take effect once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chaos.flows import send_until_saved, start_adding
from tests.chaos.observe import added_rows
from tests.chaos.report import FaultRow
from tests.e2e.processes import VISIBLE
from tests.e2e.system import RunningSystem, running_system

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
PDF = b"%PDF-1.7\n" + b"passport " * 400


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system("webhook", tmp_path) as running:
        yield running


async def wait_deliveries(system: RunningSystem, count: int, timeout: float = 30.0) -> None:
    """Wait until the fake Telegram server got ``count`` webhook answers (each after the update was handled)."""
    for _ in range(int(timeout / 0.05)):
        if len(system.telegram.deliveries) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(system.telegram.deliveries)} webhook deliveries, expected {count}")


async def test_bot_takes_effect_once_when_telegram_delivers_every_update_of_a_dialog_twice(
    system: RunningSystem, fault_report: list[FaultRow]
) -> None:
    ann = system.person(1)
    await start_adding(ann, "Passports", "Main passport")
    await send_until_saved(ann, PDF, "passport.pdf")
    updates = system.telegram.updates_of(ann.user_id)
    calls_before, deliveries_before = len(system.telegram.calls), len(system.telegram.deliveries)

    for update_id in updates:
        await system.telegram.redeliver(update_id)
    await wait_deliveries(system, deliveries_before + len(updates))

    shown_again = [c.method for c in system.telegram.calls[calls_before:] if c.method in VISIBLE]
    row = await added_rows(
        system,
        [ann],
        f"{len(updates)} updates delivered twice: nothing shown or saved again",
        "every webhook update of an add dialog delivered again",
    )
    assert system.telegram.deliveries[deliveries_before:] == [200] * len(updates)
    assert shown_again == [] and (row.events_in, row.lost, row.duplicated) == (1, 0, 0)
    fault_report.append(row)
