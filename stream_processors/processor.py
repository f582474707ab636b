"""One batch of stream records -> read-model writes and the checkpoint, committed together."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from rstream import AMQPMessage

from contracts.codec import EventDecodeError, decode_event
from service_kit.correlation import correlation_id_var
from service_kit.eventlog import RawPublisher, StreamRecord
from service_kit.metrics import DEAD_LETTERED_TOTAL, EVENTS_CONSUMED_TOTAL, PROCESSOR_BATCH_EVENTS
from service_kit.mongo import MongoClient
from stream_processors.lease import Lease, LeaseTiming, check_lease, take_lease
from stream_processors.projections import apply_event
from stream_processors.projections.state import BatchState
from stream_processors.store import Positioned, already_applied, applied_record, load_state, write_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessorIdentity:
    name: str
    version: int

    @property
    def checkpoint_id(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class DeadLetter:
    record: StreamRecord
    error: EventDecodeError


def split_records(records: Sequence[StreamRecord]) -> tuple[list[Positioned], list[DeadLetter]]:
    """Decode every record; what does not decode becomes a dead letter with its reason."""
    events: list[Positioned] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            events.append(Positioned(record.offset, decode_event(record.data)))
        except EventDecodeError as error:
            dead.append(DeadLetter(record, error))
    return events, dead


def first_occurrences(events: Sequence[Positioned], applied: set[str]) -> list[Positioned]:
    """Events not applied before, each event id once (the first offset wins)."""
    seen = set(applied)
    fresh: list[Positioned] = []
    for positioned in events:
        event_id = str(positioned.event.event_id)
        if event_id not in seen:
            seen.add(event_id)
            fresh.append(positioned)
    return fresh


def apply_all(state: BatchState, events: Sequence[Positioned]) -> dict[int, str]:
    """Apply events in order; each is applied (and logged) under its own correlation id."""
    effects: dict[int, str] = {}
    for positioned in events:
        token = correlation_id_var.set(positioned.event.correlation_id)
        try:
            effects[positioned.offset] = apply_event(state, positioned.event, positioned.offset)
            log.debug("applied", extra={"offset": positioned.offset, "effect": effects[positioned.offset]})
        finally:
            correlation_id_var.reset(token)
    return effects


def dead_letter_message(dead: DeadLetter, source_stream: str) -> AMQPMessage:
    """The original bytes, with where they came from and why they could not be processed."""
    return AMQPMessage(
        body=dead.record.data,
        application_properties={
            "x-source-stream": source_stream,
            "x-source-offset": dead.record.offset,
            "x-reason": dead.error.reason,
            "x-detail": dead.error.detail[:500],
        },
    )


class Processor:
    """Applies batches for one processor identity into one read-model database."""

    def __init__(
        self,
        identity: ProcessorIdentity,
        client: MongoClient,
        database: AsyncDatabase[dict[str, object]],
        dead_letters: RawPublisher,
        source_stream: str,
    ) -> None:
        self.source_stream = source_stream
        self.identity = identity
        self._client = client
        self._db = database
        self._dead_letters = dead_letters
        self._lease: Lease | None = None

    async def start(self, timing: LeaseTiming = LeaseTiming()) -> None:
        """Take this version's lease: a standby waits while the active instance renews it (stream_processors.lease)."""
        self._lease = await take_lease(self._client, self._db, self.identity.checkpoint_id, timing)

    @property
    def _session(self) -> AsyncClientSession | None:
        return self._lease.session if self._lease is not None else None

    async def close(self) -> None:
        if self._lease is not None:
            await self._lease.release()
            self._lease = None

    @property
    def database(self) -> AsyncDatabase[dict[str, object]]:
        return self._db

    async def process(self, records: Sequence[StreamRecord]) -> None:
        """Apply ``records`` (consecutive offsets) exactly once. Raises if nothing could be committed;
        calling again with the same records is then safe."""
        events, dead = split_records(records)
        if dead:
            # Appended before the checkpoint moves past them: a crash in between dead-letters them twice
            # (recognisable by x-source-offset), never zero times.
            await self._dead_letters.append([dead_letter_message(d, self.source_stream) for d in dead])
        effects = await self._commit(events, records[-1].offset)
        self._count(events, effects, dead)

    async def _commit(self, events: list[Positioned], last_offset: int) -> dict[int, str]:
        """Effects by offset of the events applied now (duplicates are absent)."""
        session = self._session
        if session is None:
            raise RuntimeError("Processor.start() was not called")
        async with await session.start_transaction():
            await check_lease(self._db, self.identity.checkpoint_id, session)
            applied = await already_applied(self._db, [str(p.event.event_id) for p in events], session)
            fresh = first_occurrences(events, applied)
            state = await load_state(self._db, fresh, session) if fresh else BatchState()
            effects = apply_all(state, fresh)
            records = [applied_record(p, effects[p.offset]) for p in fresh]
            await write_batch(self._db, state, records, self.identity.checkpoint_id, last_offset, session)
        return effects

    def _count(self, events: list[Positioned], effects: dict[int, str], dead: list[DeadLetter]) -> None:
        name = self.identity.name
        for positioned in events:
            outcome = "applied" if positioned.offset in effects else "duplicate"
            EVENTS_CONSUMED_TOTAL.labels(name, positioned.event.event_type, outcome).inc()
        for letter in dead:
            EVENTS_CONSUMED_TOTAL.labels(name, "undecodable", "dead_lettered").inc()
            DEAD_LETTERED_TOTAL.labels(self.source_stream, letter.error.reason).inc()
            log.warning("dead-lettered", extra={"offset": letter.record.offset, "reason": letter.error.reason})
        PROCESSOR_BATCH_EVENTS.labels(name).observe(len(events) + len(dead))
