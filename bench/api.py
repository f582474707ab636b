"""Query API benchmark: reads beside the raw MongoDB query, file transfers beside direct S3, the API's RSS.

Run (test services up, see scripts/test-env.sh)::

    source scripts/test-env.sh && .venv/bin/python -m bench.api

It seeds a fresh read-model database (10k documents for one owner in one type, 100k in total), starts
``python -m api`` as a separate process and measures, in this one run and on loopback only:

* the owner's type list and the first page of the 10k-document type: API requests/s and p50/p99 at 50
  concurrent keep-alive clients, beside the same ``find`` sent by pymongo at the same concurrency;
* a 200 MB download through the file endpoint beside a direct S3 GET, and an upload likewise, with the
  API's peak resident-memory growth while the file passes through.

Transfers run in turns, direct then the API's, N times (the best of each side counts), and report the API
process's CPU per MB beside its RSS. The API runs with its storage limits at their highest (the seeded owner
holds more documents than a person may keep). Loops are bounded (seconds per scenario, best of N transfers); the
database and bucket are dropped at the end. Prints Markdown tables (docs/api.md holds the measured ones).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import psutil
from minio import Minio
from pymongo import ASCENDING

from api.documents.queries import PAGE_FIELDS, first_window
from api.settings import MAX_BYTES_PER_PERSON_LIMIT, MAX_DOCUMENTS_PER_PERSON_LIMIT, ApiSettings
from bench.common import RssSampler, cpu_seconds, listener_pid, percentile, table
from contracts.events import StoredFile
from contracts.read_models import (
    READ_MODELS,
    DocumentTypeView,
    DocumentView,
    file_content_key,
    page_key,
    read_model_database,
)
from contracts.text import type_slug
from contracts.vocabulary import DocumentStatus
from service_kit.crypto import PersonKeys
from service_kit.keyed import TYPE, name_keys, search_keys
from service_kit.keystore import KeyStore, keys_database_name
from service_kit.mongo import MongoClient, init_read_models, mongo_client
from service_kit.s3 import s3_client
from service_kit.settings import MongoSettings, S3Settings
from tests.api.support import forget
from tests.keyrings import TEST_KEYRING
from tests.ports import closed_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-service-token-0123456789"
BENCH_OWNER = 7_000_000_001
SMALL_OWNER = 7_000_000_002
BIG_TYPE, SMALL_TYPE = "Receipts", "Passport"
# The direct S3 upload uses the API's default part size and parallelism, so both sides do the same S3 work.
PART_BYTES: int = ApiSettings.model_fields["upload_part_bytes"].default
PARALLEL_PARTS: int = ApiSettings.model_fields["upload_parallel_parts"].default
CHUNK = 2**20
MB = 10**6


# ---------------------------------------------------------------- seeding


def stored_file(keys: PersonKeys, sha256: str, size: int) -> StoredFile:
    return StoredFile(
        object_key=f"owners/{keys.owner_id}/{sha256}",
        sha256=sha256,
        size=size,
        mime_type="application/pdf",
        file_name=keys.seal("file_name", "scan.pdf"),
    )


def document_row(
    keys: PersonKeys, title: str, number: int, at: datetime, file: StoredFile | None = None
) -> dict[str, Any]:
    """One live document as the processor stores it (sealed names, keyed hashes, built through the read model, so
    the shape is exact)."""
    owner_id = keys.owner_id
    name = f"{title} {number:06d}"
    names = name_keys(keys, name)
    digest = uuid.uuid5(uuid.NAMESPACE_OID, f"{owner_id}/{title}/{number}").hex * 2  # unique per owner
    file = file or stored_file(keys, digest, 1000 + number)
    document = DocumentView(
        _id=str(uuid.uuid4()),
        owner_id=owner_id,
        type_slug=keys.keyed(TYPE, type_slug(title)),
        type_title=keys.seal("type_title", title),
        name=keys.seal("name", name),
        name_key=names.name_key,
        name_base_key=names.base_key,
        copies_key=names.copies_key,
        content_key=file_content_key(owner_id, file),
        search_prefixes=search_keys(keys, name),
        file=file,
        status=DocumentStatus.live,
        created_at=at,
        updated_at=at,
        last_event_id=str(uuid.uuid4()),
        last_offset=number,
        type_seq=number + 1,
    )
    row: dict[str, Any] = document.model_copy(update={"page_key": page_key(document)}).model_dump(by_alias=True)
    return row


def type_row(keys: PersonKeys, title: str, count: int, at: datetime) -> dict[str, Any]:
    slug = keys.keyed(TYPE, type_slug(title))
    view = DocumentTypeView(
        _id=f"{keys.owner_id}:{slug}",
        owner_id=keys.owner_id,
        slug=slug,
        title=keys.seal("type_title", title),
        live_count=count,
        added_count=count,
        created_at=at,
        updated_at=at,
    )
    row: dict[str, Any] = view.model_dump(by_alias=True)
    return row


async def person_keys(mongo: MongoSettings, owner_id: int) -> PersonKeys:
    """The owner's key as the API will find it (created in the key store on first use)."""
    client = mongo_client(mongo)
    try:
        return await KeyStore(client[keys_database_name(mongo)], TEST_KEYRING).get_or_create(owner_id)
    finally:
        await client.close()


def population(owner_documents: int, total_documents: int) -> list[tuple[int, str, int]]:
    """(owner, type title, documents): the bench owner's one big type, an owner with one type of 100, then
    owners of 100 documents in 4 types until the total is reached."""
    groups = [(BENCH_OWNER, BIG_TYPE, owner_documents), (SMALL_OWNER, SMALL_TYPE, 100)]
    rest = total_documents - owner_documents - 100
    owner = SMALL_OWNER + 1
    while rest > 0:
        for title in ("Passport", "Contracts", "Insurance", "Tax returns"):
            groups.append((owner, title, min(25, rest)))
            rest -= min(25, rest)
        owner += 1
    return [group for group in groups if group[2] > 0]


async def seed(mongo: MongoSettings, owner_documents: int, total_documents: int) -> None:
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, 1)]
        await init_read_models(database, READ_MODELS)
        keystore = KeyStore(client[keys_database_name(mongo)], TEST_KEYRING)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        batch: list[dict[str, Any]] = []
        for owner, title, count in population(owner_documents, total_documents):
            keys = await keystore.get_or_create(owner)
            await database[DocumentTypeView.Settings.name].insert_one(type_row(keys, title, count, at))
            for number in range(count):
                batch.append(document_row(keys, title, number, at))
                if len(batch) == 2000:
                    await database[DocumentView.Settings.name].insert_many(batch, ordered=False)
                    batch = []
        if batch:
            await database[DocumentView.Settings.name].insert_many(batch, ordered=False)
    finally:
        await client.close()


# ---------------------------------------------------------------- a lean HTTP/1.1 client


class Connection:
    """One keep-alive HTTP/1.1 connection; far less client CPU per request than a full client library,
    so the numbers describe the API, not the load generator (both share the same two cores)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=2**20)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, body: bytes | memoryview = b"", sink: Callable[[bytes], None] | None = None
    ) -> int:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Length: {len(body)}\r\nContent-Type: application/pdf\r\n\r\n"
        )
        self._writer.write(head.encode())
        for start in range(0, len(body), CHUNK):
            self._writer.write(body[start : start + CHUNK])
            await self._writer.drain()
        await self._writer.drain()
        status, length = await self._head()
        await self._body(length, sink)
        return status

    async def _head(self) -> tuple[int, int]:
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        lengths = [v for k, v in headers.items() if k.lower() == "content-length"]
        return int(lines[0].split(" ")[1]), int(lengths[0]) if lengths else 0

    async def _body(self, length: int, sink: Callable[[bytes], None] | None) -> None:
        remaining = length
        while remaining:
            chunk = await self._reader.read(min(remaining, CHUNK))
            if not chunk:
                raise ConnectionError("the server closed the connection mid-body")
            remaining -= len(chunk)
            if sink is not None:
                sink(chunk)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


# ---------------------------------------------------------------- request rates


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


Call = Callable[[], Awaitable[None]]


async def hammer(make_call: Callable[[], Awaitable[Call]], concurrency: int, seconds: float) -> Rate:
    """``concurrency`` workers calling as fast as answers come, for ``seconds`` (after a short warm-up)."""
    calls = [await make_call() for _ in range(concurrency)]
    await asyncio.gather(*(call() for call in calls))  # warm-up: connections, caches, pools
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(call: Call) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker(call) for call in calls))
    return Rate(len(latencies), time.perf_counter() - began, latencies)


def api_call(port: int, path: str) -> Callable[[], Awaitable[Call]]:
    async def make() -> Call:
        connection = await Connection.open("127.0.0.1", port)

        async def call() -> None:
            nonlocal connection
            try:
                status = await connection.request("GET", path)
            except (asyncio.IncompleteReadError, ConnectionError):
                # uvicorn closes a keep-alive connection idle for 5 s (e.g. while slower warm-ups finish):
                # reconnect and resend, as any HTTP client does for an idempotent request.
                connection = await Connection.open("127.0.0.1", port)
                status = await connection.request("GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")

        return call

    return make


def mongo_call(
    client: MongoClient,
    database: str,
    collection: str,
    query: dict[str, Any],
    projection: dict[str, int] | None,
    sort: list[tuple[str, int]] | None,
    limit: int,
) -> Callable[[], Awaitable[Call]]:
    """The API's own query, sent straight through pymongo (what the API could do at best)."""

    async def make() -> Call:
        async def call() -> None:
            cursor = client[database][collection].find(query, projection, limit=limit)
            await (cursor if sort is None else cursor.sort(sort)).to_list(None)

        return call

    return make


@dataclass(frozen=True)
class ReadScenario:
    name: str
    path: str
    collection: str
    query: dict[str, Any]
    projection: dict[str, int] | None
    sort: list[tuple[str, int]] | None  # None: the server is not asked to order
    limit: int


def read_scenarios(page: int, owner_documents: int, keys: dict[int, PersonKeys]) -> list[ReadScenario]:
    """The API's reads and the raw MongoDB query each makes (a page: its first window, as
    api.documents.queries shapes it; the API asks no more while no deleted document is in it)."""

    def page_of(owner: int, title: str, documents: str) -> ReadScenario:
        slug = keys[owner].keyed(TYPE, type_slug(title))
        window = first_window(owner, slug, 0, page + 1)
        return ReadScenario(
            f"document page ({documents}, first {page})",
            f"/v1/owners/{owner}/types/{slug}/documents?limit={page}",
            DocumentView.Settings.name,
            window.filter,
            PAGE_FIELDS,
            window.sort,
            window.want,
        )

    return [
        ReadScenario(
            "type list",
            f"/v1/owners/{BENCH_OWNER}/types",
            DocumentTypeView.Settings.name,
            {"owner_id": BENCH_OWNER},
            {"slug": 1, "title": 1, "live_count": 1},
            [("slug", ASCENDING)],
            500,
        ),
        page_of(BENCH_OWNER, BIG_TYPE, f"type of {owner_documents:,}"),
        page_of(SMALL_OWNER, SMALL_TYPE, "type of 100"),
    ]


@dataclass(frozen=True)
class CpuPerAnswer:
    """CPU milliseconds per answer of each process on the path, over one measured row (the machine's two cores
    are shared by all of them: the sum is what one answer costs the machine)."""

    by_process: dict[str, float]
    load_average: float


async def with_cpu(processes: dict[str, psutil.Process], measure: Awaitable[Rate]) -> tuple[Rate, CpuPerAnswer]:
    before = {name: cpu_seconds(process) for name, process in processes.items()}
    rate = await measure
    spent = {
        name: (cpu_seconds(process) - before[name]) * 1000 / max(rate.requests, 1)
        for name, process in processes.items()
    }
    return rate, CpuPerAnswer(spent, os.getloadavg()[0])


def watched_processes(api_pid: int, mongo: MongoSettings) -> dict[str, psutil.Process]:
    """This benchmark (the clients), the API and the MongoDB server, when it listens on this machine."""
    processes = {"bench": psutil.Process(), "API": psutil.Process(api_pid)}
    server = listener_pid(urlsplit(mongo.url.get_secret_value()).port or 27017)
    if server is not None:
        processes["MongoDB server"] = psutil.Process(server)
    return processes


def cpu_rows(name: str, sides: dict[str, CpuPerAnswer]) -> list[list[object]]:
    """One row per side: each process's CPU per answer, their sum, and the load average at the row's end."""
    rows: list[list[object]] = []
    for side, cpu in sides.items():
        spent = [cpu.by_process.get(process, float("nan")) for process in ("bench", "API", "MongoDB server")]
        rows.append([name, side, *spent, sum(cpu.by_process.values()), cpu.load_average])
    return rows


async def read_rates(
    port: int, api_pid: int, mongo: MongoSettings, args: argparse.Namespace
) -> tuple[list[list[object]], list[list[object]]]:
    client = mongo_client(mongo)
    rows: list[list[object]] = []
    cpu: list[list[object]] = []
    processes = watched_processes(api_pid, mongo)
    try:
        database = read_model_database(mongo.database, 1)
        keys = {owner: await person_keys(mongo, owner) for owner in (BENCH_OWNER, SMALL_OWNER)}
        for scenario in read_scenarios(args.page, args.owner_documents, keys):
            raw, raw_cpu = await with_cpu(
                processes,
                hammer(
                    mongo_call(
                        client,
                        database,
                        scenario.collection,
                        scenario.query,
                        scenario.projection,
                        scenario.sort,
                        scenario.limit,
                    ),
                    args.concurrency,
                    args.seconds,
                ),
            )
            api, api_cpu = await with_cpu(
                processes, hammer(api_call(port, scenario.path), args.concurrency, args.seconds)
            )
            cpu.extend(cpu_rows(scenario.name, {"raw": raw_cpu, "API": api_cpu}))
            rows.append(
                [
                    scenario.name,
                    raw.per_second,
                    raw.ms(50),
                    raw.ms(99),
                    api.per_second,
                    api.ms(50),
                    api.ms(99),
                    f"{api.per_second / raw.per_second:.0%}",
                ]
            )
            print(f"  measured {scenario.name}", file=sys.stderr)
    finally:
        await client.close()
    # The HTTP stack alone (uvicorn, FastAPI, middlewares, no database): the API's own ceiling here.
    bare, bare_cpu = await with_cpu(processes, hammer(api_call(port, "/healthz"), args.concurrency, args.seconds))
    cpu.extend(cpu_rows("/healthz (no database)", {"API": bare_cpu}))
    return rows + [["/healthz (no database)", "-", "-", "-", bare.per_second, bare.ms(50), bare.ms(99), "-"]], cpu


def large_type_ratios(reads: Sequence[Sequence[object]]) -> list[list[object]]:
    """Each document page's rate as a share of the type list's, raw and through the API (the issue's measure
    for large types: a page of a big type should answer at least half as often as the type list)."""
    type_list = reads[0]
    return [
        [
            row[0],
            f"{float(str(row[1])) / float(str(type_list[1])):.2%}",
            f"{float(str(row[4])) / float(str(type_list[4])):.2%}",
        ]
        for row in reads[1:]
        if str(row[0]).startswith("document page")
    ]


async def query_plans(mongo: MongoSettings, args: argparse.Namespace) -> list[str]:
    """The server's ``explain`` of each read: which index (if any) serves the filter and the order."""
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, 1)]
        plans = []
        keys = {owner: await person_keys(mongo, owner) for owner in (BENCH_OWNER, SMALL_OWNER)}
        for scenario in read_scenarios(args.page, args.owner_documents, keys):
            cursor = database[scenario.collection].find(scenario.query, scenario.projection, limit=scenario.limit)
            cursor = cursor if scenario.sort is None else cursor.sort(scenario.sort)
            plan: dict[str, Any] = dict(await cursor.explain())
            winning = describe_plan(plan.get("queryPlanner", {}).get("winningPlan", plan))
            plans.append(f"{scenario.name}: {winning}{execution_counts(plan.get('executionStats', {}))}")
        return plans
    finally:
        await client.close()


def execution_counts(stats: dict[str, Any]) -> str:
    """What the server read to answer (when its explain reports execution statistics)."""
    counts = {"keys examined": "totalKeysExamined", "documents examined": "totalDocsExamined", "returned": "nReturned"}
    found = [f"{label} {stats[key]:,}" for label, key in counts.items() if isinstance(stats.get(key), int)]
    return f" ({', '.join(found)})" if found else ""


def describe_plan(stage: Any) -> str:
    """A winning plan as its chain of stages, outermost first: ``SORT <- FETCH <- IXSCAN owner_id_1_...``."""
    if not isinstance(stage, dict):
        return str(stage)
    name = str(stage.get("stage", "?")) + (f" {stage['indexName']}" if stage.get("indexName") else "")
    inner = stage.get("inputStage") or (stage.get("inputStages") or [None])[0]
    return name if inner is None else f"{name} <- {describe_plan(inner)}"


# ---------------------------------------------------------------- file transfers


@dataclass
class Paired:
    """Best times of a direct S3 transfer and of the API's in one run, and what the API process spent."""

    direct_seconds: float = float("inf")
    api_seconds: float = float("inf")
    api_cpu_seconds: float = float("inf")  # the least CPU the API process used for one transfer
    api_rss_growth_mb: float = 0.0


async def paired(pid: int, direct: Callable[[], None], api: Callable[[], Awaitable[None]], repeats: int) -> Paired:
    """``repeats`` turns of the direct transfer (in a worker thread) then the API's, so each pair meets about the
    same machine load (the machine is shared with other benchmarks: the best of each side counts); the API's peak
    RSS growth over all its transfers and its CPU seconds per transfer (a cost that load does not change)."""
    process = psutil.Process(pid)
    result = Paired()
    baseline = process.memory_info().rss / 2**20
    sampler = RssSampler(pid, interval=0.01)
    sampler.start()
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            await anyio.to_thread.run_sync(direct)
            result.direct_seconds = min(result.direct_seconds, time.perf_counter() - started)
            cpu_before, started = cpu_seconds(process), time.perf_counter()
            await api()
            result.api_seconds = min(result.api_seconds, time.perf_counter() - started)
            result.api_cpu_seconds = min(result.api_cpu_seconds, cpu_seconds(process) - cpu_before)
    finally:
        await sampler.stop()
    result.api_rss_growth_mb = sampler.peak_mb - baseline
    return result


def direct_get(s3: Minio, bucket: str, key: str) -> None:
    response = s3.get_object(bucket, key)
    try:
        while response.read(CHUNK):
            pass
    finally:
        response.close()
        response.release_conn()


async def file_document(mongo: MongoSettings, uploaded: dict[str, Any], owner_id: int = BENCH_OWNER) -> str:
    """A read-model document for a file uploaded through the API (its answer, as the bot's event would carry
    it); returns the document's file path."""
    keys = await person_keys(mongo, owner_id)
    file = StoredFile.model_validate(
        {key: value for key, value in uploaded.items() if key != "duplicate_of" and value is not None}
    )
    client = mongo_client(mongo)
    try:
        database = client[read_model_database(mongo.database, 1)]
        await init_read_models(database, READ_MODELS)
        row = document_row(keys, "Archive", 0, datetime.now(UTC), file)
        await database[DocumentView.Settings.name].insert_one(row)
    finally:
        await client.close()
    return f"/v1/owners/{owner_id}/documents/{row['_id']}/file"


async def api_upload(port: int, data: bytes, owner_id: int = BENCH_OWNER) -> dict[str, Any]:
    """One upload on its own connection; the API's answer."""
    answer = bytearray()
    connection = await Connection.open("127.0.0.1", port)
    try:
        status = await connection.request("POST", f"/v1/owners/{owner_id}/files", memoryview(data), sink=answer.extend)
    finally:
        await connection.close()
    if status != 201:
        raise RuntimeError(f"the upload answered {status}")
    uploaded: dict[str, Any] = json.loads(answer)
    return uploaded


async def api_transfer(port: int, method: str, path: str, body: bytes = b"") -> int:
    """One transfer on its own connection (an idle keep-alive connection is closed by uvicorn after 5 s);
    returns the bytes received."""
    received = 0

    def count(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    connection = await Connection.open("127.0.0.1", port)
    try:
        status = await connection.request(method, path, memoryview(body), sink=count)
    finally:
        await connection.close()
    if status not in (200, 201):
        raise RuntimeError(f"{method} {path} answered {status}")
    return received


async def file_rates(
    port: int, pid: int, mongo: MongoSettings, s3_settings: S3Settings, args: argparse.Namespace
) -> list[list[object]]:
    data = os.urandom(args.file_mb * MB)
    s3 = s3_client(s3_settings)

    uploads: list[dict[str, Any]] = []

    async def upload() -> None:
        uploads.append(await api_upload(port, data))

    def direct_put() -> None:
        s3.put_object(
            s3_settings.bucket,
            f"direct/{uuid.uuid4().hex}",
            io.BytesIO(data),
            -1,
            part_size=PART_BYTES,
            num_parallel_uploads=PARALLEL_PARTS,
        )

    up = await paired(pid, direct_put, upload, args.repeats)
    path, key = await file_document(mongo, uploads[-1]), uploads[-1]["object_key"]

    async def api_download() -> None:
        if await api_transfer(port, "GET", path) != len(data):
            raise RuntimeError("the download was incomplete")

    down = await paired(pid, lambda: direct_get(s3, s3_settings.bucket, key), api_download, args.repeats)
    return [
        transfer_row(f"download {args.file_mb} MB", len(data), down),
        transfer_row(f"upload {args.file_mb} MB", len(data), up),
    ]


def transfer_row(name: str, size: int, measured: Paired) -> list[object]:
    megabytes = size / MB
    return [
        name,
        megabytes / measured.direct_seconds,
        megabytes / measured.api_seconds,
        f"{measured.direct_seconds / measured.api_seconds:.0%}",
        measured.api_rss_growth_mb,
        measured.api_cpu_seconds * 1000 / megabytes,
    ]


def storage_limits() -> dict[str, str]:
    """The API's storage limits at their highest: the run seeds the bench owner's documents (10,000 by default,
    over the deployed 1,000 a person may keep) and then uploads files for the same owner, which the deployed
    limits would refuse (403 ``quota_exceeded``). The benchmark measures transfers and reads, not the quota."""
    return {
        "MAX_DOCUMENTS_PER_PERSON": str(MAX_DOCUMENTS_PER_PERSON_LIMIT),
        "MAX_BYTES_PER_PERSON": str(MAX_BYTES_PER_PERSON_LIMIT),
    }


# ---------------------------------------------------------------- the API process


@asynccontextmanager
async def served_api(
    mongo: MongoSettings, s3: S3Settings, port: int, log_path: Path, settings: dict[str, str] | None = None
) -> AsyncIterator[int]:
    """``python -m api`` with its default settings (INFO access log included) but ``settings``; yields its pid."""
    env = (
        os.environ
        | {
            "API_SERVICE_TOKEN": TOKEN,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "MONGO_DATABASE": mongo.database,
            "S3_BUCKET": s3.bucket,
        }
        | (settings or {})
    )
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api", cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await _until_ready(port, process)
        yield process.pid
    finally:
        process.terminate()
        await process.wait()


async def _until_ready(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise RuntimeError("python -m api exited; see its log")
        try:
            connection = await Connection.open("127.0.0.1", port)
            status = await connection.request("GET", "/readyz")
            await connection.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("python -m api did not become ready")


async def main(args: argparse.Namespace) -> int:
    name = f"benchapi{uuid.uuid4().hex[:8]}"
    mongo, s3 = MongoSettings(database=name), S3Settings(bucket=f"bench-{name}")
    port = closed_port()  # free now: the API binds it next
    try:
        started = time.perf_counter()
        await seed(mongo, args.owner_documents, args.total_documents)
        print(f"  seeded {args.total_documents:,} documents in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        async with served_api(mongo, s3, port, Path(args.log), storage_limits()) as pid:
            reads, cpu = await read_rates(port, pid, mongo, args) if args.only in (None, "reads") else ([], [])
            plans = await query_plans(mongo, args) if args.only != "files" else []
            files = await file_rates(port, pid, mongo, s3, args) if args.only in (None, "files") else []
    finally:
        await forget(mongo, s3)
    print(
        f"\n{os.cpu_count()} cores; MongoDB: SecantusDB; S3: moto server; {args.concurrency} concurrent "
        f"clients, {args.seconds:g} s per row; transfers: best of {args.repeats}\n"
    )
    if reads:
        print(
            table(
                [
                    "query",
                    "raw MongoDB q/s",
                    "raw p50 ms",
                    "raw p99 ms",
                    "API req/s",
                    "API p50 ms",
                    "API p99 ms",
                    "API/raw",
                ],
                reads,
            ),
            end="\n\n",
        )
        print(table(["page", "raw rate / type list", "API rate / type list"], large_type_ratios(reads)), end="\n\n")
        cpu_headers = ["query", "side", "bench ms", "API ms", "MongoDB server ms", "machine ms", "load average"]
        print("CPU per answer (ms of CPU, each process on the path; 2 cores = 2,000 ms per second in all):")
        print(table(cpu_headers, cpu), end="\n\n")
    if plans:
        print("query plans (explain, winning plan):\n" + "\n".join(f"  {plan}" for plan in plans), end="\n\n")
    if files:
        headers = ["transfer", "direct S3 MB/s", "API MB/s", "API/direct", "API peak RSS growth MB", "API CPU ms/MB"]
        print(table(headers, files))
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--owner-documents", type=int, default=None, help="the bench owner's big type (10,000; 100 with --only files)"
    )
    parser.add_argument(
        "--total-documents", type=int, default=None, help="documents seeded in all (100,000; 200 with --only files)"
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per read row and side")
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--file-mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2, help="transfers per side (the best counts)")
    parser.add_argument("--log", default="/tmp/bench-api.log", help="where the API process writes its log")
    parser.add_argument(
        "--only",
        choices=("reads", "files", "plans"),
        default=None,
        help="run one half only (plans: the query plans alone, no load)",
    )
    return with_population_defaults(parser.parse_args(argv))


def with_population_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The reads need a big population; the transfers do not (they read one document), and seeding 100,000
    documents takes minutes on a busy SecantusDB, so ``--only files`` seeds a small one unless told otherwise."""
    owner, total = (100, 200) if args.only == "files" else (10_000, 100_000)
    args.owner_documents = owner if args.owner_documents is None else args.owner_documents
    args.total_documents = total if args.total_documents is None else args.total_documents
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
