"""``python -m api`` as deployed (uvicorn, real HTTP): schemathesis against its OpenAPI, bounded memory."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from service_kit.s3 import s3_client
from service_kit.segments import HEADER_BYTES, SEALED_SEGMENT_BYTES, SEGMENT_BYTES
from service_kit.settings import MongoSettings, S3Settings
from tests import factories as f
from tests.api.support import (
    AUTH,
    LINK_KEY,
    MIB,
    PUBLIC_BASE_URL,
    TOKEN,
    Projector,
    added_from_upload,
    forget,
)
from tests.ports import closed_port

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
OWNER = 412845671
FUZZ_CONFIG = """
[generation]
# HTTP APIs ignore parameters they do not define; the spec does not promise to refuse them.
allow-extra-parameters = false

[dictionaries.owners]
values = [{owner}]

[dictionaries.documents]
values = {documents}

[dictionaries.slugs]
values = ["passport", "receipts"]

[parameters]
"path.owner_id" = {{ dictionary = "owners", probability = 0.5 }}
"path.document_id" = {{ dictionary = "documents", probability = 0.5 }}
"path.slug" = {{ dictionary = "slugs", probability = 0.5 }}
"""


@dataclass(frozen=True)
class Served:
    url: str
    pid: int
    mongo: MongoSettings
    s3: S3Settings
    documents: list[str]


def _environment(mongo: MongoSettings, s3: S3Settings, port: int) -> dict[str, str]:
    return os.environ | {
        "API_SERVICE_TOKEN": TOKEN,
        "LINK_SIGNING_KEY": LINK_KEY,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "MONGO_DATABASE": mongo.database,
        "S3_BUCKET": s3.bucket,
        "S3_ENDPOINT": s3.endpoint,
        "MAX_UPLOAD_BYTES": str(256 * MIB),
        # Fuzzed after_event ids are never applied: answer their 409 quickly.
        "READ_YOUR_WRITES_TIMEOUT_SECONDS": "0.05",
    }


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"python -m api exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("python -m api did not become healthy in 20 s")


@contextmanager
def _server(mongo: MongoSettings, s3: S3Settings, log_path: Path) -> Iterator[tuple[str, int]]:
    port = closed_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api"],
            cwd=REPOSITORY,
            env=_environment(mongo, s3, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(15)


async def _seed(mongo: MongoSettings, url: str) -> list[str]:
    """A few documents of OWNER whose files exist, uploaded through the served API itself."""
    events = [f.started(OWNER, "ru")]
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as client:
        for step, (name, title) in enumerate([("Паспорт", "Passport"), ("Lease", "Contracts"), ("Чек", "Receipts")]):
            response = await client.post(
                f"/v1/owners/{OWNER}/files",
                content=name.encode() * 100,
                headers={"Content-Type": "application/pdf", "X-File-Name": "scan.pdf"},
            )
            events.append(await added_from_upload(client, OWNER, name, response.json(), title, step))
    await Projector(mongo).apply(*events)
    return [str(f.document_id_of(event)) for event in events[1:]]


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    name = f"srv{uuid.uuid4().hex[:12]}"
    mongo, s3 = MongoSettings(database=name), S3Settings(bucket=f"api-{name}")
    try:
        with _server(mongo, s3, tmp_path_factory.mktemp("api") / "api.log") as (url, pid):
            yield Served(url, pid, mongo, s3, await _seed(mongo, url))
    finally:
        await forget(mongo, s3)


def test_schemathesis_finds_no_server_error_or_contract_breach_when_fuzzing_the_openapi_spec(
    served: Served, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG.format(owner=OWNER, documents=served.documents).replace("'", '"'))
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{served.url}/openapi.json",
        "--checks",
        "all",
        # Semantic rules a JSON schema cannot state (a name that is only spaces, a file name of 300 characters
        # once %-decoded) are refused with 422 on purpose; every other check runs.
        "--exclude-checks",
        "positive_data_acceptance",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--seed",
        "20261127",
        # One worker: with two, hypothesis describes strategies (ast.parse) in two threads at once, which CPython
        # 3.11 does not survive ("SystemError: AST constructor recursion depth mismatch", seen twice this week).
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=170, cwd=tmp_path)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Selected: 23/23" in result.stdout and "No issues found" in result.stdout
    # the dictionaries made the fuzzer reach real documents and files, not only 404s
    metrics = httpx.get(f"{served.url}/metrics").text
    assert re.search(r'operation="get_object",outcome="ok",target="s3"} [1-9]', metrics), "no file was served"


@contextmanager
def _peak_rss(pid: int) -> Iterator[list[int]]:
    """Samples the server's resident memory every 10 ms; yields [baseline, peak] (peak filled on exit)."""
    process = psutil.Process(pid)
    readings = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            readings.append(process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = [readings[0], readings[0]]
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result[1] = max(readings)


async def test_served_api_streams_a_64_mb_file_both_ways_when_memory_growth_is_bounded(served: Served) -> None:
    data = os.urandom(64 * MIB)

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), MIB):
            yield data[start : start + MIB]

    async with httpx.AsyncClient(base_url=served.url, headers=AUTH, timeout=60) as client:
        with _peak_rss(served.pid) as upload_rss:
            uploaded = (await client.post(f"/v1/owners/{OWNER}/files", content=body())).json()
        await Projector(served.mongo).apply(
            event := await added_from_upload(client, OWNER, "Archive", uploaded, "Backups")
        )
        digest = hashlib.sha256()
        with _peak_rss(served.pid) as download_rss:
            async with client.stream("GET", f"/v1/owners/{OWNER}/documents/{f.document_id_of(event)}/file") as got:
                async for chunk in got.aiter_bytes():
                    digest.update(chunk)

    assert uploaded["sha256"] is None and digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert upload_rss[1] - upload_rss[0] < 64 * MIB, upload_rss
    assert download_rss[1] - download_rss[0] < 32 * MIB, download_rss


async def test_served_api_ends_the_download_before_a_tampered_segment_when_it_lies_past_the_first_chunk(
    served: Served,
) -> None:
    data = os.urandom(6 * MIB)
    async with httpx.AsyncClient(base_url=served.url, headers=AUTH, timeout=60) as client:
        uploaded = (await client.post(f"/v1/owners/{OWNER}/files", content=data)).json()
        await Projector(served.mongo).apply(
            event := await added_from_upload(client, OWNER, "Tampered", uploaded, "Backups")
        )
        tampered_segment = 80
        raw_s3 = s3_client(served.s3)
        stored = bytearray(raw_s3.get_object(served.s3.bucket, uploaded["object_key"]).read())
        stored[HEADER_BYTES + tampered_segment * SEALED_SEGMENT_BYTES + 3] ^= 0x01
        raw_s3.put_object(served.s3.bucket, uploaded["object_key"], io.BytesIO(stored), len(stored))
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):  # fewer bytes than Content-Length, then the end
            async with client.stream("GET", f"/v1/owners/{OWNER}/documents/{f.document_id_of(event)}/file") as got:
                assert got.status_code == 200
                async for chunk in got.aiter_bytes():
                    received += chunk

    assert 0 < len(received) <= tampered_segment * SEGMENT_BYTES
    assert received == data[: len(received)]  # only segments that authenticated were sent
