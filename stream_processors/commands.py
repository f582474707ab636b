"""The one-shot commands for analysts and operators: replay, rebuild, export, lag, dlq, keys, seal-history; each
wires clients from settings and runs one job (the long-running ``run`` is ``stream_processors.service``)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

from contracts.codec import EventDecodeError, decode_event
from contracts.read_models import ACTIVE_VERSION_ID, CONTROL_COLLECTION, read_model_database
from service_kit.eventlog import (
    RawPublisher,
    StartAt,
    StreamRecord,
    StreamSubscriber,
    ensure_events_stream,
    stream_end_offset,
)
from service_kit.keystore import KeyStatus, KeyStore, keys_database_name
from service_kit.mongo import mongo_client
from service_kit.settings import master_keyring
from stream_processors import history
from stream_processors.dead_letters import DeadLetterEntry, NotADeadLetter, for_redrive, listing, read_entry, shown
from stream_processors.export import ExportFilter, Forgotten, csv_header, csv_line, jsonl_line
from stream_processors.processor import ProcessorIdentity
from stream_processors.runner import ProcessorRunner, stopped_within
from stream_processors.service import open_processor
from stream_processors.settings import ProcessorSettings
from stream_processors.store import load_checkpoint

log = logging.getLogger(__name__)
REDRIVE_BATCH = 500
T = TypeVar("T")


async def replay(settings: ProcessorSettings, version: int, start: StartAt, activate: bool) -> int:
    """Project into ``version`` from ``start`` until the stream end seen now; optionally serve it."""
    end = await stream_end_offset(settings.rabbitmq, settings.rabbitmq.events_stream)
    async with open_processor(settings, version) as processor:
        if end >= 0:
            with tqdm(total=end + 1, unit="ev", desc=f"replay v{version}", file=sys.stderr) as bar:

                def progress(offset: int, _: int) -> None:
                    bar.update(offset + 1 - bar.n)

                runner = ProcessorRunner(
                    processor,
                    settings.rabbitmq,
                    batch_size=settings.batch_size,
                    stop_after=end,
                    idle_exit_seconds=10,
                    on_commit=progress,
                )
                await runner.run(start)
        if activate:
            await _activate(settings, version)
    print(f"version {version} caught up to offset {end}" + (" and is now served" if activate else ""))
    return 0


async def _activate(settings: ProcessorSettings, version: int) -> None:
    client = mongo_client(settings.mongo)
    try:
        await client[settings.mongo.database][CONTROL_COLLECTION].update_one(
            {"_id": ACTIVE_VERSION_ID}, {"$set": {"version": version}}, upsert=True
        )
    finally:
        await client.close()


async def export(settings: ProcessorSettings, start: StartAt, selection: ExportFilter, fmt: str, output: str) -> int:
    """Write the events from ``start`` up to the stream end seen now; undecodable records are counted."""
    end = await stream_end_offset(settings.rabbitmq, settings.rabbitmq.events_stream)
    forgotten = Forgotten(await _with_keys(settings, lambda keys: keys.forgets.all()))
    stream: TextIO = sys.stdout if output == "-" else open(output, "w", encoding="utf-8", newline="")
    counts = {"exported": 0, "skipped": 0, "undecodable": 0, "redacted": 0}
    try:
        if fmt == "csv":
            stream.write(csv_header())
        if end >= 0:
            await _read_until(
                settings,
                settings.rabbitmq.events_stream,
                start,
                end,
                lambda record: _export_one(record, selection, fmt, stream, counts, forgotten),
            )
    finally:
        if stream is not sys.stdout:
            stream.close()
    print(" ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)
    return 0


def _export_one(
    record: StreamRecord,
    selection: ExportFilter,
    fmt: str,
    out: TextIO,
    counts: dict[str, int],
    forgotten: Forgotten,
) -> None:
    try:
        event = decode_event(record.data)
    except EventDecodeError:
        counts["undecodable"] += 1
        return
    if not selection.accepts(event):
        counts["skipped"] += 1
        return
    write = csv_line if fmt == "csv" else jsonl_line
    out.write(write(record.offset, event, forgotten))
    counts["exported"] += 1
    counts["redacted"] += forgotten.redacts(record.offset, event)


async def _read_until(
    settings: ProcessorSettings,
    stream_name: str,
    start: StartAt,
    end: int,
    consume: Callable[[StreamRecord], None],
    idle_seconds: float = 3.0,
) -> None:
    """Feed records of ``stream_name`` to ``consume`` up to offset ``end``; also ends when nothing arrives
    for ``idle_seconds`` (a start position past the end delivers nothing at all)."""
    done = asyncio.Event()
    delivered = 0

    async def handle(record: StreamRecord) -> None:
        nonlocal delivered
        delivered += 1
        if record.offset <= end:
            consume(record)
        if record.offset >= end:
            done.set()

    reader = StreamSubscriber(settings.rabbitmq, stream_name, handle, "docvault-export")
    await reader.start(start)
    try:
        seen = -1
        while not done.is_set() and seen != delivered:
            seen = delivered
            await stopped_within(done, idle_seconds)
    finally:
        await reader.close()


async def lag(settings: ProcessorSettings, version: int | None, out: TextIO) -> int:
    """Read-only: never takes the processor's lease."""
    identity = ProcessorIdentity(settings.processor_name, version or settings.processor_version)
    end = await stream_end_offset(settings.rabbitmq, settings.rabbitmq.events_stream)
    client = mongo_client(settings.mongo)
    try:
        database = client[read_model_database(settings.mongo.database, identity.version)]
        checkpoint = await load_checkpoint(database, identity.checkpoint_id)
    finally:
        await client.close()
    committed = -1 if checkpoint is None else checkpoint
    out.write(
        f"processor {identity.checkpoint_id}\nstream end offset {end}\n"
        f"checkpoint offset {committed}\nlag {max(0, end - committed)} events\n"
    )
    return 0


async def dead_letter_entries(settings: ProcessorSettings, start: StartAt = StartAt.first()) -> list[DeadLetterEntry]:
    """The dead-letter stream up to its end seen now; records that are not dead letters are skipped (and logged)."""
    stream_name = settings.rabbitmq.dead_letter_stream
    end = await stream_end_offset(settings.rabbitmq, stream_name)
    entries: list[DeadLetterEntry] = []

    def keep(record: StreamRecord) -> None:
        try:
            entries.append(read_entry(record))
        except NotADeadLetter as error:
            log.warning("not a dead letter", extra={"error": str(error)})

    if end >= 0 and (start.kind != "offset" or (start.value or 0) <= end):  # past the end nothing arrives
        await _read_until(settings, stream_name, start, end, keep)
    return entries


async def dlq_list(settings: ProcessorSettings, reasons: Sequence[str], out: TextIO) -> int:
    out.write(listing(await dead_letter_entries(settings), reasons))
    return 0


async def dlq_show(settings: ProcessorSettings, offset: int, out: TextIO) -> int:
    found = [e for e in await dead_letter_entries(settings, StartAt.offset(offset)) if e.offset == offset]
    if not found:
        print(f"no dead letter at offset {offset} of {settings.rabbitmq.dead_letter_stream}", file=sys.stderr)
        return 1
    out.write(json.dumps(shown(found[0]), ensure_ascii=False, indent=2) + "\n")
    return 0


async def dlq_redrive(settings: ProcessorSettings, offsets: Sequence[int], reasons: Sequence[str], out: TextIO) -> int:
    """Append the original bytes of the chosen dead letters to the events stream again. Safe: an event id
    is applied once, so an entry whose event was applied meanwhile changes nothing."""
    chosen = for_redrive(await dead_letter_entries(settings), set(offsets), set(reasons))
    target = settings.rabbitmq.events_stream
    publisher = RawPublisher(settings.rabbitmq, target, "docvault-dlq-redrive")
    try:
        for start in range(0, len(chosen), REDRIVE_BATCH):
            await publisher.append([entry.original for entry in chosen[start : start + REDRIVE_BATCH]])
    finally:
        await publisher.close()
    out.write(f"redriven {len(chosen)} dead letter(s) to {target}\n")
    return 0


async def _with_keys(settings: ProcessorSettings, job: Callable[[KeyStore], Awaitable[T]]) -> T:
    client = mongo_client(settings.mongo)
    try:
        return await job(KeyStore(client[keys_database_name(settings.mongo)], master_keyring(settings.master_keys)))
    finally:
        await client.close()


def status_lines(status: KeyStatus, current_master: str) -> str:
    by_master = "".join(
        f"  wrapped by {master_id}{' (current)' if master_id == current_master else ''}: {count}\n"
        for master_id, count in sorted(status.by_master.items())
    )
    return f"live keys {status.live}\n{by_master}forgotten keys {status.forgotten}\n"


async def keys_status(settings: ProcessorSettings, out: TextIO) -> int:
    """Read-only: how many people have a live key (by the master key wrapping it) and how many were forgotten."""
    status = await _with_keys(settings, lambda keys: keys.status())
    out.write(status_lines(status, master_keyring(settings.master_keys).current_id))
    return 0


async def keys_rotate(settings: ProcessorSettings, out: TextIO) -> int:
    """Re-wrap every live data key under the current master key; safe while the services run (each key is replaced
    in one write, and a reader unwraps with whichever master key wrapped it). Exit 0 once none is left under
    another master key: then the old entry may be dropped from MASTER_KEYS."""
    current = master_keyring(settings.master_keys).current_id
    rewrapped = await _with_keys(settings, lambda keys: keys.rotate())
    status = await _with_keys(settings, lambda keys: keys.status())
    out.write(f"re-wrapped {rewrapped} keys under {current}\n" + status_lines(status, current))
    left = sum(count for master_id, count in status.by_master.items() if master_id != current)
    if left:
        out.write(f"{left} keys are still wrapped by another master key (created meanwhile?): run rotate again\n")
    return 0 if left == 0 else 1


SEAL_BATCH = 500


class HistoryRefused(Exception):
    """seal-history will not start: the target is the source, holds another history, or is ahead of it."""


async def seal_history(settings: ProcessorSettings, target: str, resume: bool, out: TextIO) -> int:
    """Copy the event stream into ``target`` with every plaintext event sealed (``stream_processors.history``);
    exit 0 once the target holds every record the source held when it started, 1 if it refused or fell short."""
    source = settings.rabbitmq.events_stream
    try:
        first, end = await _seal_history_range(settings, target, resume)
    except HistoryRefused as refusal:
        print(f"seal-history: {refusal}", file=sys.stderr)
        return 1
    if first > end:
        out.write(f"nothing to copy: {target} already holds the {end + 1} records of {source}\n")
        return 0
    last_forgets = await _last_forgets(settings, end)
    counts, undecodable = await _copy_sealed(settings, target, first, end, last_forgets)
    if undecodable:
        shown = ", ".join(str(offset) for offset in undecodable[:20]) + (" ..." if len(undecodable) > 20 else "")
        print(f"undecodable records copied as they are (dead-lettered as before) at offsets {shown}", file=sys.stderr)
    out.write(history.summary(source, target, counts, end) + "\n")
    copied_to = await stream_end_offset(settings.rabbitmq, target)
    if copied_to != end:
        print(f"seal-history: {target} ends at offset {copied_to}, {source} at {end}: do not switch", file=sys.stderr)
        return 1
    return 0


async def _seal_history_range(settings: ProcessorSettings, target: str, resume: bool) -> tuple[int, int]:
    """The source offsets still to copy (first, end), after checking the target."""
    source = settings.rabbitmq.events_stream
    if target in (source, settings.rabbitmq.dead_letter_stream):
        raise HistoryRefused(f"the target must be a new stream, not {target}")
    end = await stream_end_offset(settings.rabbitmq, source)
    await ensure_events_stream(settings.rabbitmq, target)
    held = await stream_end_offset(settings.rabbitmq, target)
    if held >= 0 and not resume:
        raise HistoryRefused(f"{target} already holds {held + 1} records: give --resume to continue, or delete it")
    if held > end:
        raise HistoryRefused(f"{target} holds {held + 1} records, more than the {end + 1} of {source}")
    if held >= 0 and not await _continues(settings, target, held):
        raise HistoryRefused(f"record {held} of {target} is not the migration of record {held} of {source}")
    return held + 1, end


async def _record_at(settings: ProcessorSettings, stream: str, offset: int) -> bytes:
    found: list[bytes] = []

    def keep(record: StreamRecord) -> None:
        if record.offset == offset:
            found.append(record.data)

    await _read_until(settings, stream, StartAt.offset(offset), offset, keep)
    if not found:
        raise HistoryRefused(f"no record at offset {offset} of {stream}")
    return found[0]


async def _continues(settings: ProcessorSettings, target: str, offset: int) -> bool:
    source = settings.rabbitmq.events_stream
    return history.same_event(await _record_at(settings, source, offset), await _record_at(settings, target, offset))


async def _last_forgets(settings: ProcessorSettings, end: int) -> dict[int, int]:
    """The offset of each forgotten person's last ``user.forgotten`` (one pass; forgets are few)."""
    last: dict[int, int] = {}

    def note(record: StreamRecord) -> None:
        owner = history.forget_of(record.data)
        if owner is not None:
            last[owner] = record.offset

    if end >= 0:
        await _read_until(settings, settings.rabbitmq.events_stream, StartAt.first(), end, note)
    return last


class _SealedCopy:
    """Takes the source's records in order from ``first`` to ``end`` and appends their migrations to the target a
    batch at a time; the reader waits while a batch is appended, so memory holds one batch. A failure stops it
    (the subscriber would log it and go on)."""

    def __init__(
        self,
        first: int,
        end: int,
        last_forgets: dict[int, int],
        keys: KeyStore,
        publisher: RawPublisher,
        bar: tqdm[Any],
    ) -> None:
        self.expected, self.end, self.last_forgets = first, end, last_forgets
        self.keys, self.publisher, self.bar = keys, publisher, bar
        self.counts: Counter[history.Outcome] = Counter()
        self.undecodable: list[int] = []
        self.batch: list[tuple[int, bytes]] = []
        self.failure: BaseException | None = None
        self.done = asyncio.Event()

    async def take(self, record: StreamRecord) -> None:
        if self.done.is_set() or record.offset > self.end:
            return
        try:
            if record.offset != self.expected:
                raise RuntimeError(f"expected offset {self.expected}, the stream delivered {record.offset}")
            self.expected += 1
            self.batch.append((record.offset, record.data))
            if len(self.batch) >= SEAL_BATCH or record.offset == self.end:
                await self._flush()
        except Exception as error:
            self.failure = error
        if self.failure is not None or record.offset >= self.end:
            self.done.set()

    async def _flush(self) -> None:
        records = [(offset, data, history.decoded(data)) for offset, data in self.batch]
        owners = {history.needs_live_key(event, offset, self.last_forgets) for offset, _, event in records}
        people = {owner: await self.keys.get_or_create(owner) for owner in sorted(o for o in owners if o is not None)}
        out = [history.migrated(data, event, offset, self.last_forgets, people) for offset, data, event in records]
        await self.publisher.append([m.data for m in out])
        self.counts.update(m.outcome for m in out)
        self.undecodable += [
            r[0] for r, m in zip(records, out, strict=True) if m.outcome is history.Outcome.undecodable
        ]
        self.bar.update(len(self.batch))
        self.batch.clear()


async def _copy_sealed(
    settings: ProcessorSettings, target: str, first: int, end: int, last_forgets: dict[int, int]
) -> tuple[Counter[history.Outcome], list[int]]:
    """Read the source from ``first`` to ``end`` and append each record's migration to ``target``."""
    publisher = RawPublisher(settings.rabbitmq, target, "docvault-seal-history")
    client = mongo_client(settings.mongo)
    keys = KeyStore(client[keys_database_name(settings.mongo)], master_keyring(settings.master_keys))
    with tqdm(total=end + 1 - first, unit="ev", desc="seal-history", file=sys.stderr) as bar:
        copy = _SealedCopy(first, end, last_forgets, keys, publisher, bar)
        reader = StreamSubscriber(
            settings.rabbitmq, settings.rabbitmq.events_stream, copy.take, "docvault-seal-history"
        )
        try:
            await reader.start(StartAt.offset(first))
            await copy.done.wait()
        finally:
            await reader.close()
            await publisher.close()
            await client.close()
    if copy.failure is not None:
        raise copy.failure
    return copy.counts, copy.undecodable
