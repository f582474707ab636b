"""One batch of stream records -> read-model writes and the checkpoint, committed together.

What cannot be decoded, and events that cannot be applied (see ``isolation``), go to the dead-letter
stream, each before the checkpoint moves past it; everything else is applied exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from rstream import AMQPMessage

from contracts.codec import EventDecodeError, decode_event
from contracts.events import (
    DocumentAdded,
    DocumentAddedV2,
    DocumentRenamed,
    DocumentRenamedV2,
    EventEnvelope,
    UserForgotten,
)
from service_kit.correlation import correlation_id_var
from service_kit.crypto import PersonKeys
from service_kit.eventlog import RawPublisher, StreamRecord
from service_kit.keystore import KeyStore
from service_kit.metrics import DEAD_LETTERED_TOTAL, EVENTS_CONSUMED_TOTAL, PROCESSOR_BATCH_EVENTS, ConsumedOutcome
from service_kit.mongo import MongoClient
from stream_processors.failures import UNAPPLICABLE, describe_failure
from stream_processors.isolation import Isolated, commit_isolating
from stream_processors.lease import Lease, LeaseTiming, check_lease, take_lease
from stream_processors.projections import apply_event, needs_keys
from stream_processors.projections.naming import NameRules
from stream_processors.projections.state import DEFAULT_RETENTION, BatchState
from stream_processors.store import Positioned, already_applied, applied_record, load_clock, load_state, write_batch

log = logging.getLogger(__name__)

# (state, event, offset) -> effect: ``apply_event``, or in tests one that fails for chosen events.
Projection = Callable[[BatchState, EventEnvelope, int], str]
# Loading a batch's state again with the copies keys naming probed beyond it: one more round is needed only
# for a name cut to fit or an id name; the cap only turns a loop that a bug could make endless into an error.
MAX_LOAD_ROUNDS = 8


class StateNotLoadable(RuntimeError):
    """Applying a batch kept probing names whose holders were not loaded (a bug): the batch is unapplicable."""


@dataclass(frozen=True)
class ProcessorIdentity:
    name: str
    version: int

    @property
    def checkpoint_id(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class DeadLetter:
    """A record for the dead-letter stream, with a stable reason and a detail that names no personal data."""

    record: StreamRecord
    reason: str
    detail: str

    @classmethod
    def undecodable(cls, record: StreamRecord, error: EventDecodeError) -> DeadLetter:
        return cls(record, error.reason, error.detail)

    @classmethod
    def unapplicable(cls, record: StreamRecord, error: BaseException) -> DeadLetter:
        return cls(record, UNAPPLICABLE, describe_failure(error))


def split_records(records: Sequence[StreamRecord]) -> tuple[list[Positioned], list[DeadLetter]]:
    """Decode every record; what does not decode becomes a dead letter with its reason."""
    events: list[Positioned] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            events.append(Positioned(record.offset, decode_event(record.data)))
        except EventDecodeError as error:
            dead.append(DeadLetter.undecodable(record, error))
    return events, dead


def carries_plaintext(event: EventEnvelope) -> bool:
    """A v1 event with a person's text: its person gets a key if they have none, so the text is stored sealed."""
    payload = event.payload
    return isinstance(payload, (DocumentAdded, DocumentRenamed)) or (
        isinstance(payload, (DocumentAddedV2, DocumentRenamedV2)) and payload.plaintext
    )


def _of_current_life(positioned: Positioned, forgotten: Mapping[int, int]) -> bool:
    return positioned.offset >= forgotten.get(positioned.event.owner_id, -1)


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


def apply_all(state: BatchState, events: Sequence[Positioned], projection: Projection = apply_event) -> dict[int, str]:
    """Apply events in order; each is applied (and logged) under its own correlation id."""
    effects: dict[int, str] = {}
    for positioned in events:
        token = correlation_id_var.set(positioned.event.correlation_id)
        try:
            effects[positioned.offset] = str(projection(state, positioned.event, positioned.offset))
            log.debug("applied", extra={"offset": positioned.offset, "effect": effects[positioned.offset]})
        finally:
            correlation_id_var.reset(token)
    return effects


def dead_letter_message(dead: DeadLetter, source_stream: str, processor: str) -> AMQPMessage:
    """The original bytes, with where they came from, which processor version gave up and why."""
    return AMQPMessage(
        body=dead.record.data,
        application_properties={
            "x-source-stream": source_stream,
            "x-source-offset": dead.record.offset,
            "x-reason": dead.reason,
            "x-detail": dead.detail[:500],
            "x-processor": processor,
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
        projection: Projection = apply_event,
        rules: NameRules | None = None,
        *,
        keys: KeyStore,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._retention = retention
        self.source_stream = source_stream
        self._keys = keys
        self.identity = identity
        self._client = client
        self._db = database
        self._dead_letters = dead_letters
        self._lease: Lease | None = None
        self._projection = projection
        self._rules = rules or NameRules()
        # Offsets of the batch in hand already confirmed by the dead-letter stream: a retried batch does not
        # append them again (after a crash it does: a dead letter may be there twice, never zero times).
        self._dead_lettered: set[int] = set()

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
        await self._dead_letter(dead)
        by_offset = {record.offset: record for record in records}

        async def dead_letter_unapplicable(culprit: Positioned, error: Exception) -> None:
            await self._dead_letter([DeadLetter.unapplicable(by_offset[culprit.offset], error)])

        isolated = await commit_isolating(events, records[-1].offset, self._commit, dead_letter_unapplicable)
        self._dead_lettered.clear()
        self._count(events, isolated, dead)

    async def _dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Append to the dead-letter stream and wait for its confirm (raises ``EventLogUnavailable``)."""
        new = [letter for letter in letters if letter.record.offset not in self._dead_lettered]
        if new:
            await self._dead_letters.append(
                [dead_letter_message(letter, self.source_stream, self.identity.checkpoint_id) for letter in new]
            )
            self._dead_lettered.update(letter.record.offset for letter in new)

    async def _commit(self, events: Sequence[Positioned], last_offset: int) -> dict[int, str]:
        """Effects by offset of the events applied now (duplicates are absent)."""
        session = self._session
        if session is None:
            raise RuntimeError("Processor.start() was not called")
        forgotten = await self._forget_markers(events)
        keys = await self._keys_of(events, forgotten)
        destroyed = await self._destroyed_keys(events, keys)
        async with await session.start_transaction():
            await check_lease(self._db, self.identity.checkpoint_id, session)
            applied = await already_applied(self._db, [str(p.event.event_id) for p in events], session)
            fresh = first_occurrences(events, applied)
            state, effects = (
                await self._apply_loaded(fresh, session, keys, forgotten, destroyed) if fresh else (BatchState(), {})
            )
            records = [applied_record(p, effects[p.offset]) for p in fresh]
            await write_batch(self._db, state, records, self.identity.checkpoint_id, last_offset, session)
        return effects

    async def _forget_markers(self, events: Sequence[Positioned]) -> dict[int, int]:
        """Mark the batch's forgets in the keys database (idempotent, before the commit: a retried batch finds them)
        and return the forget markers of the batch's people: their events before it apply nothing."""
        for positioned in events:
            if isinstance(positioned.event.payload, UserForgotten):
                await self._keys.forgets.mark(positioned.event.owner_id, positioned.offset)
        return await self._keys.forgets.through({p.event.owner_id for p in events})

    async def _keys_of(self, events: Sequence[Positioned], forgotten: Mapping[int, int]) -> dict[int, PersonKeys]:
        """The data keys of the people whose document events the batch holds (one lookup, cached by the store); a
        person with plaintext (v1) events and no key yet gets one, unless those events are of a forgotten life.
        Outside the transaction: keys live in their own database and a key created for a batch that is then retried
        is simply used again."""
        needed = {p.event.owner_id for p in events if needs_keys(p.event)}
        found = await self._keys.find(needed)
        plain = {p.event.owner_id for p in events if carries_plaintext(p.event) and _of_current_life(p, forgotten)}
        return found | await self._keys.get_or_create_many(plain - set(found))

    async def _destroyed_keys(self, events: Sequence[Positioned], keys: Mapping[int, PersonKeys]) -> frozenset[int]:
        """The batch's people whose key was destroyed and who have no live one (``BatchState.destroyed_keys``)."""
        keyless = {p.event.owner_id for p in events if needs_keys(p.event)} - set(keys)
        return frozenset(await self._keys.forgotten_at(keyless)) if keyless else frozenset()

    async def _apply_loaded(
        self,
        events: list[Positioned],
        session: AsyncClientSession,
        keys: dict[int, PersonKeys],
        forgotten: Mapping[int, int],
        destroyed: frozenset[int] = frozenset(),
    ) -> tuple[BatchState, dict[int, str]]:
        """Load the state the events need and apply them; again with more documents while naming probed
        names whose possible holders were not loaded (so the unique indexes never refuse the writes)."""
        more: frozenset[str] = frozenset()
        clock = await load_clock(self._db, self.identity.checkpoint_id, session)
        for _ in range(MAX_LOAD_ROUNDS):
            state = await load_state(
                self._db, events, session, self._rules, more, keys, forgotten, self._retention, clock
            )
            state.destroyed_keys = destroyed
            effects = apply_all(state, events, self._projection)
            missing = state.unloaded_copies_keys()
            if not missing:
                return state, effects
            more |= missing
        raise StateNotLoadable(f"names still unloaded after {MAX_LOAD_ROUNDS} rounds")

    def _count(self, events: list[Positioned], isolated: Isolated, dead: list[DeadLetter]) -> None:
        name = self.identity.name
        unapplicable = {culprit.offset: error for culprit, error in isolated.unapplicable}
        for positioned in events:
            outcome = ConsumedOutcome.applied if positioned.offset in isolated.effects else ConsumedOutcome.duplicate
            if positioned.offset in unapplicable:
                outcome = ConsumedOutcome.dead_lettered
                self._count_dead_letter(positioned.offset, UNAPPLICABLE, type(unapplicable[positioned.offset]))
            EVENTS_CONSUMED_TOTAL.labels(name, positioned.event.event_type, outcome).inc()
        for letter in dead:
            EVENTS_CONSUMED_TOTAL.labels(name, "undecodable", ConsumedOutcome.dead_lettered).inc()
            self._count_dead_letter(letter.record.offset, letter.reason)
        PROCESSOR_BATCH_EVENTS.labels(name).observe(len(events) + len(dead))

    def _count_dead_letter(self, offset: int, reason: str, error: type[BaseException] | None = None) -> None:
        DEAD_LETTERED_TOTAL.labels(self.source_stream, reason).inc()
        extra = {"offset": offset, "reason": reason} | ({"error": error.__name__} if error else {})
        log.warning("dead-lettered", extra=extra)
