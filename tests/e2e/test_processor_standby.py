"""The processor lease for scale-out (stream_processors/lease.py): a standby waits while the active instance renews,
takes over once it stops renewing, at once when it released the lease or died on this very machine, and a commit
of an instance that lost the lease is fenced off. Against SecantusDB; instances on other machines are played by
giving each its own machine id."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from service_kit.mongo import MongoClient, mongo_client
from service_kit.settings import MongoSettings
from stream_processors import lease as lease_module
from stream_processors.lease import (
    HEARTBEAT_SUFFIX,
    LEASES_COLLECTION,
    Holder,
    Lease,
    LeaseLost,
    LeaseTiming,
    check_lease,
    may_take_over,
    take_lease,
)
from tests.mongo_cleanup import drop_databases

pytestmark = pytest.mark.integration
FAST = LeaseTiming(ttl_seconds=1.0, renew_seconds=0.2)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ME = Holder("me", "host-a/boot", 100)


def heartbeat(age: float, machine: str = "host-b/boot", pid: int = 200) -> dict[str, object]:
    return {"token": "t", "machine": machine, "pid": pid, "renewed_at": NOW - timedelta(seconds=age)}


@pytest.mark.parametrize(
    ("current", "alive", "expected"),
    [
        (None, True, True),  # nobody ever held it
        (heartbeat(0.5), True, False),  # renewed within the TTL on another machine
        (heartbeat(10.5), True, True),  # silent for longer than the TTL
        (heartbeat(0.5, machine="host-a/boot", pid=300), False, True),  # its process here is gone: a restart
        (heartbeat(0.5, machine="host-a/boot", pid=300), True, False),  # a live instance on this machine
        (heartbeat(0.5, machine="host-a/boot", pid=100), True, True),  # an earlier life of this very pid
        ({**heartbeat(0.5), "renewed_at": lease_module.RELEASED}, True, True),  # released by a clean stop
    ],
)
def test_may_take_over_decides_by_renewal_age_and_holder_when_looking_at_the_heartbeat(
    current: dict[str, object] | None, alive: bool, expected: bool
) -> None:
    assert may_take_over(current, ME, NOW, LeaseTiming(ttl_seconds=10), alive=lambda _: alive) is expected


def on_machine(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Instances that take the lease from now on look like processes of machine ``name``."""
    monkeypatch.setattr(lease_module, "machine_id", lambda: name)


@pytest.fixture
async def mongo() -> AsyncIterator[tuple[MongoClient, MongoSettings]]:
    settings = MongoSettings(database=f"lease{uuid.uuid4().hex[:8]}")
    client = mongo_client(settings)
    yield client, settings
    await client.close()
    await drop_databases(settings)


async def test_standby_waits_while_the_active_renews_and_takes_over_when_it_stops_when_on_other_machines(
    mongo: tuple[MongoClient, MongoSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, settings = mongo
    db = client[settings.database]
    on_machine(monkeypatch, "machine-a")
    active = await take_lease(client, db, "p@v1", FAST)
    on_machine(monkeypatch, "machine-b")
    standby = asyncio.create_task(take_lease(client, db, "p@v1", FAST))
    renewals = await renewals_seen(client, settings, count=8)  # 8 renewals: well past the 1 s TTL
    assert renewals == 8 and not standby.done()
    await stop_renewing(active)  # the active one is killed: no release, no more renewals
    taken = await asyncio.wait_for(standby, 10)
    assert taken.holder.machine == "machine-b"
    with pytest.raises(LeaseLost):
        async with await active.session.start_transaction():
            await check_lease(db, "p@v1", active.session)
    async with await taken.session.start_transaction():
        await check_lease(db, "p@v1", taken.session)
    await taken.release()


async def test_standby_takes_over_at_once_when_the_active_releases_the_lease(
    mongo: tuple[MongoClient, MongoSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, settings = mongo
    db = client[settings.database]
    slow = LeaseTiming(ttl_seconds=600, renew_seconds=0.2)  # a silent holder would be waited for ten minutes
    on_machine(monkeypatch, "machine-a")
    active = await take_lease(client, db, "p@v1", slow)
    on_machine(monkeypatch, "machine-b")
    standby = asyncio.create_task(take_lease(client, db, "p@v1", slow))
    await active.release()  # a clean stop (SIGTERM, a rolling update)
    taken = await asyncio.wait_for(standby, 30)
    assert taken.holder.machine == "machine-b"
    await taken.release()


async def renewals_seen(client: MongoClient, settings: MongoSettings, count: int) -> int:
    """Wait for ``count`` renewals of the heartbeat (each a new ``renewed_at``)."""
    collection = client[settings.database][LEASES_COLLECTION]
    seen: set[object] = set()
    while len(seen) < count:
        found = await collection.find_one({"_id": "p@v1" + HEARTBEAT_SUFFIX})
        if found is not None:
            seen.add(found["renewed_at"])
        await asyncio.sleep(0.05)
    return len(seen)


async def stop_renewing(held: Lease) -> None:
    assert held._heartbeat is not None
    held._heartbeat.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await held._heartbeat
