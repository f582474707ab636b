"""One active instance per processor version, standbys that take over when it stops, and no transaction left
behind by a killed one.

Two documents per lease in ``processor_leases``:

* the **lease** (``_id`` = the checkpoint id): the session the active instance runs all its transactions in,
  and who it is. Every commit writes it inside its transaction (``check_lease``), filtered on that session:
  a commit of an instance that lost the lease matches nothing and raises ``LeaseLost``, and a takeover racing
  with a commit makes one of the two fail on a write conflict. This is the fence.
* the **heartbeat** (``_id`` = ``<checkpoint id>/heartbeat``): renewed every ``renew_seconds`` by the active
  instance (outside any transaction, so it never conflicts with a commit), stamped with MongoDB's clock
  (``$currentDate``) so that no two machines' clocks are compared.

A standby polls the heartbeat every ``renew_seconds`` and takes over once it is older than ``ttl_seconds``,
or at once when the holder is gone for sure: a clean stop releases the heartbeat, and a holder on this very
host whose process no longer exists (a restart after a crash) is not waited for. Taking over kills the old
holder's session first, which aborts a transaction a killed processor left open on the server (mongod keeps
it for a minute, SecantusDB for longer), then claims the heartbeat with a compare-and-set, then the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import Binary
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from service_kit.metrics import timed
from service_kit.mongo import MongoClient

log = logging.getLogger(__name__)

LEASES_COLLECTION = "processor_leases"
HEARTBEAT_SUFFIX = "/heartbeat"
RELEASED = datetime(1970, 1, 1, tzinfo=UTC)
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

Document = dict[str, Any]


class LeaseLost(RuntimeError):
    """Another instance of this processor version took over; this one must stop writing."""


@dataclass(frozen=True)
class LeaseTiming:
    """How long a silent holder keeps the lease, and how often it renews (and a standby looks)."""

    ttl_seconds: float = 10.0
    renew_seconds: float = 2.0


@dataclass(frozen=True)
class Holder:
    """One process holding (or waiting for) a lease: ``machine`` is the host name plus its boot id, so that
    a process id is only ever compared with process ids of the same running kernel."""

    token: str
    machine: str
    pid: int

    @classmethod
    def this_process(cls) -> Holder:
        return cls(uuid.uuid4().hex, machine_id(), os.getpid())


def machine_id() -> str:
    try:
        boot = BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def heartbeat_age(heartbeat: Mapping[str, Any] | None, server_now: datetime) -> float | None:
    """Seconds since the holder last renewed (``None``: no heartbeat at all)."""
    if heartbeat is None or heartbeat.get("renewed_at") is None:
        return None
    return (server_now - _aware(heartbeat["renewed_at"])).total_seconds()


def may_take_over(
    heartbeat: Mapping[str, Any] | None,
    me: Holder,
    server_now: datetime,
    timing: LeaseTiming,
    alive: Callable[[int], bool] = pid_alive,
) -> bool:
    """Whether ``me`` may take the lease now: nobody holds it, the holder stopped renewing for ``ttl_seconds``,
    or the holder is a process of this machine that no longer exists (or an earlier life of this very pid)."""
    age = heartbeat_age(heartbeat, server_now)
    if heartbeat is None or age is None or age > timing.ttl_seconds:
        return True
    if heartbeat.get("machine") == me.machine:
        return heartbeat.get("pid") == me.pid or not alive(int(heartbeat.get("pid", -1)))
    return False


def session_id_of(session: AsyncClientSession) -> Binary:
    session_id: Binary = session.session_id["id"]
    return session_id


@dataclass
class Lease:
    """A lease this process holds: its session (all transactions run in it) and the heartbeat renewing it."""

    lease_id: str
    session: AsyncClientSession
    holder: Holder
    leases: AsyncCollection[Document]
    timing: LeaseTiming
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    _heartbeat: asyncio.Task[None] | None = None

    def start_heartbeat(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name=f"lease-heartbeat-{self.lease_id}")

    async def _beat(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(self.timing.renew_seconds)
            try:
                renewed = await self.leases.update_one(
                    {"_id": self.lease_id + HEARTBEAT_SUFFIX, "token": self.holder.token},
                    {"$currentDate": {"renewed_at": True}},
                )
            except PyMongoError as error:  # MongoDB away: the next beat tries again; commits fail meanwhile
                log.warning("lease heartbeat failed", extra={"lease": self.lease_id, "error": repr(error)[:200]})
                continue
            if renewed.matched_count == 0:
                log.warning("lease lost to another instance", extra={"lease": self.lease_id})
                self.lost.set()

    async def release(self) -> None:
        """Stop renewing and mark the heartbeat released, so that a standby takes over at once."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(PyMongoError):
            await self.leases.update_one(
                {"_id": self.lease_id + HEARTBEAT_SUFFIX, "token": self.holder.token},
                {"$set": {"renewed_at": RELEASED}},
            )
        await self.session.end_session()


async def server_time(client: MongoClient) -> datetime:
    """MongoDB's clock (``hello.localTime``): heartbeats are stamped and compared with it only."""
    reply = await client.admin.command("hello")
    return _aware(reply["localTime"])


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@timed("mongo", "take_lease")
async def take_lease(
    client: MongoClient, db: AsyncDatabase[dict[str, Any]], lease_id: str, timing: LeaseTiming = LeaseTiming()
) -> Lease:
    """Wait as a standby until the lease is free (or its holder silent or gone), then take it."""
    leases = db[LEASES_COLLECTION]
    me = Holder.this_process()
    waiting_for: object = None
    while True:
        heartbeat = await leases.find_one({"_id": lease_id + HEARTBEAT_SUFFIX})
        if may_take_over(heartbeat, me, await server_time(client), timing):
            lease = await _claim(client, leases, lease_id, heartbeat, me, timing)
            if lease is not None:
                return lease
        elif heartbeat is not None and (heartbeat.get("machine"), heartbeat.get("pid")) != waiting_for:
            waiting_for = (heartbeat.get("machine"), heartbeat.get("pid"))
            log.info(
                "standby: lease held by another instance",
                extra={"lease": lease_id, "holder": heartbeat.get("machine"), "pid": heartbeat.get("pid")},
            )
        await asyncio.sleep(timing.renew_seconds)


async def _claim(
    client: MongoClient,
    leases: AsyncCollection[Document],
    lease_id: str,
    heartbeat: Mapping[str, Any] | None,
    me: Holder,
    timing: LeaseTiming,
) -> Lease | None:
    """Abort the previous holder's session, then compare-and-set the heartbeat and record the new session.
    ``None`` when another standby claimed it first."""
    previous = await leases.find_one({"_id": lease_id})
    if previous is not None and previous.get("session_id") is not None:
        try:
            await client.admin.command({"killSessions": [{"id": previous["session_id"]}]})
        except PyMongoError as error:  # the session may be long gone; nothing to abort then
            log.info("previous processor session not killed", extra={"error": repr(error)[:200]})
    claim = {"token": me.token, "machine": me.machine, "pid": me.pid}
    try:
        if heartbeat is None:
            await leases.insert_one({"_id": lease_id + HEARTBEAT_SUFFIX, **claim, "renewed_at": RELEASED})
        else:
            taken = await leases.update_one(
                {"_id": lease_id + HEARTBEAT_SUFFIX, "token": heartbeat.get("token")}, {"$set": claim}
            )
            if taken.matched_count == 0:
                return None
    except DuplicateKeyError:
        return None
    await leases.update_one(
        {"_id": lease_id + HEARTBEAT_SUFFIX, "token": me.token}, {"$currentDate": {"renewed_at": True}}
    )
    session = client.start_session()
    await leases.update_one(
        {"_id": lease_id},
        {"$set": {"session_id": session_id_of(session), **claim, "since": datetime.now(UTC)}},
        upsert=True,
    )
    lease = Lease(lease_id, session, me, leases, timing)
    lease.start_heartbeat()
    log.info("lease taken", extra={"lease": lease_id, "previous_pid": (heartbeat or {}).get("pid")})
    return lease


async def check_lease(db: AsyncDatabase[dict[str, Any]], lease_id: str, session: AsyncClientSession) -> None:
    """Inside a transaction: fence this commit with the lease (a write, so that a takeover conflicts with it);
    raise ``LeaseLost`` unless this session still holds the lease."""
    fenced = await db[LEASES_COLLECTION].update_one(
        {"_id": lease_id, "session_id": session_id_of(session)}, {"$inc": {"commits": 1}}, session=session
    )
    if fenced.matched_count == 0:
        raise LeaseLost(f"{lease_id} is now held by another instance")
