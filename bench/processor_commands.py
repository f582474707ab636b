"""Where a processor batch's time goes on the server: an in-process replay with a command listener.

    . scripts/test-env.sh && python -m bench.processor_commands [--events 10000] [--batch-size 1000]

The benchmark's event mix (``bench.streaming.event_mix``) is applied by the real ``Processor`` in batches, without a
broker (nothing is dead-lettered: every event decodes), against a fresh database that is dropped afterwards. A
``pymongo.monitoring.CommandListener`` sums the server time of every command by kind (command and collection);
printed as a Markdown table, with the whole replay's wall time for the share.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from pymongo import monitoring

from bench.common import table
from bench.streaming import event_mix
from contracts.codec import encode_event
from contracts.read_models import READ_MODELS, read_model_database
from service_kit.eventlog import RawPublisher, StreamRecord
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import init_read_models, mongo_client
from service_kit.settings import MongoSettings, RabbitSettings
from stream_processors.processor import Processor, ProcessorIdentity
from tests.keyrings import TEST_KEYRING
from tests.mongo_cleanup import drop_databases


@dataclass
class Kind:
    commands: int = 0
    seconds: float = 0.0


@dataclass
class CommandTimes(monitoring.CommandListener):
    """Server time by (command, collection); started commands wait by request id for their reply."""

    kinds: dict[tuple[str, str], Kind] = field(default_factory=lambda: defaultdict(Kind))
    pending: dict[int, tuple[str, str]] = field(default_factory=dict)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.pending[event.request_id] = (event.command_name, target if isinstance(target, str) else "")

    def _done(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent) -> None:
        key = self.pending.pop(event.request_id, (event.command_name, ""))
        self.kinds[key].commands += 1
        self.kinds[key].seconds += event.duration_micros / 1e6

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event)


async def replay(total: int, batch_size: int, listener: CommandTimes) -> float:
    mongo = MongoSettings(database=f"cmds{uuid.uuid4().hex[:8]}")
    records = [StreamRecord(offset, 0, encode_event(e)) for offset, e in enumerate(event_mix(total))]
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, 1)]
        await init_read_models(database, READ_MODELS)
        keys = KeyStore(client[keys_database_name(mongo)], TEST_KEYRING)
        dead_letters = RawPublisher(RabbitSettings(), "unused.dlq", "unused")
        processor = Processor(ProcessorIdentity("read-models", 1), client, database, dead_letters, "bench", keys=keys)
        await processor.start()
        listener.kinds.clear()
        started = time.perf_counter()
        try:
            for start in range(0, len(records), batch_size):
                await processor.process(records[start : start + batch_size])
        finally:
            await processor.close()
        return time.perf_counter() - started
    finally:
        await client.close()
        await drop_databases(mongo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    arguments = parser.parse_args()
    listener = CommandTimes()
    monitoring.register(listener)
    seconds = asyncio.run(replay(arguments.events, arguments.batch_size, listener))
    rows = sorted(listener.kinds.items(), key=lambda item: -item[1].seconds)
    print(f"{arguments.events} events in batches of {arguments.batch_size}: {seconds:.1f} s\n")
    print(
        table(
            ["command", "collection", "commands", "seconds", "ms each", "share of the replay"],
            [
                (name, target, kind.commands, kind.seconds, 1000 * kind.seconds / kind.commands, kind.seconds / seconds)
                for (name, target), kind in rows
            ],
        )
    )


if __name__ == "__main__":
    main()
