"""The small programs compose runs around the services, run here for real: secret generation and loading, the
container healthcheck, the SeaweedFS launcher (with a stand-in `weed`) and bucket creation (against moto's S3)."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from minio import Minio

from service_kit.settings import S3Settings
from tests.infra.infra_files import INFRA, ROOT, run
from tests.ports import free_port

GENERATE = INFRA / "docker" / "generate_secrets.py"
ENTRYPOINT = INFRA / "docker" / "entrypoint.sh"
HEALTHCHECK = INFRA / "docker" / "healthcheck.py"
SEAWEEDFS = INFRA / "s3" / "seaweedfs.sh"
CREATE_BUCKET = INFRA / "s3" / "create_bucket.py"
SECRET_NAMES = ["API_SERVICE_TOKEN", "LINK_SIGNING_KEY", "WEBHOOK_SECRET", "RABBITMQ_PASSWORD", "S3_ACCESS_KEY",
                "S3_SECRET_KEY", "GRAFANA_ADMIN_PASSWORD"]


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any secret or S3 variable, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if key not in SECRET_NAMES and not key.startswith(("S3_", "DOCVAULT_"))}
    env.update(extra)
    return env


def generate(path: Path, **extra: str) -> tuple[int, str]:
    result = run([sys.executable, str(GENERATE), str(path)], env=clean_env(**extra))
    return result.returncode, result.stdout + result.stderr


def exported(secrets_file: Path, *names: str, **extra: str) -> dict[str, str]:
    """What a command started through entrypoint.sh sees of ``names``."""
    script = "import json, os, sys; print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"
    result = run(["sh", str(ENTRYPOINT), sys.executable, "-c", script, *names],
                 env=clean_env(DOCVAULT_SECRETS_FILE=str(secrets_file), **extra))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


# --- secrets ----------------------------------------------------------------------------------------------------

def test_generate_secrets_creates_every_secret_once_without_printing_values_when_first_run(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "docvault.env"
    code, output = generate(path)
    assert code == 0, output
    values = exported(path, *SECRET_NAMES)
    assert set(values) == set(SECRET_NAMES) and all(value and len(value) >= 40 for value in values.values())
    assert len(set(values.values())) == len(SECRET_NAMES)
    assert not any(value in output for value in values.values() if value)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_generate_secrets_keeps_stored_values_when_run_again(tmp_path: Path) -> None:
    path = tmp_path / "docvault.env"
    generate(path)
    before = path.read_text()
    code, output = generate(path)
    assert code == 0 and path.read_text() == before
    assert "kept: " + ", ".join(SECRET_NAMES) in output


def test_generate_secrets_takes_values_from_the_environment_when_given(tmp_path: Path) -> None:
    path = tmp_path / "docvault.env"
    generate(path)
    tricky = "it's $(touch pwned) `id` \"quoted\" and spaced"
    code, output = generate(path, API_SERVICE_TOKEN=tricky)
    assert code == 0 and "environment: API_SERVICE_TOKEN" in output
    assert exported(path, "API_SERVICE_TOKEN") == {"API_SERVICE_TOKEN": tricky}
    assert not (Path.cwd() / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_generate_secrets_refuses_a_multi_line_value_when_given(tmp_path: Path) -> None:
    path = tmp_path / "docvault.env"
    code, output = generate(path, LINK_SIGNING_KEY="one\ntwo")
    assert code == 2 and "LINK_SIGNING_KEY" in output and not path.exists()


def test_entrypoint_lets_explicit_environment_win_and_applies_aliases_when_loading(tmp_path: Path) -> None:
    path = tmp_path / "docvault.env"
    generate(path)
    stored = exported(path, "RABBITMQ_PASSWORD")["RABBITMQ_PASSWORD"]
    seen = exported(path, "RABBITMQ_PASSWORD", "RABBITMQ_DEFAULT_PASS", "API_SERVICE_TOKEN",
                    API_SERVICE_TOKEN="from-env", DOCVAULT_SECRET_ALIASES="RABBITMQ_DEFAULT_PASS=RABBITMQ_PASSWORD")
    assert seen == {"RABBITMQ_PASSWORD": stored, "RABBITMQ_DEFAULT_PASS": stored, "API_SERVICE_TOKEN": "from-env"}


def test_entrypoint_fails_when_a_named_secrets_file_is_missing(tmp_path: Path) -> None:
    result = run(["sh", str(ENTRYPOINT), "true"], env=clean_env(DOCVAULT_SECRETS_FILE=str(tmp_path / "none.env")))
    assert result.returncode == 78 and "secrets file" in result.stderr


def test_entrypoint_rejects_a_malformed_alias_when_loading(tmp_path: Path) -> None:
    path = tmp_path / "docvault.env"
    generate(path)
    result = run(["sh", str(ENTRYPOINT), "true"],
                 env=clean_env(DOCVAULT_SECRETS_FILE=str(path), DOCVAULT_SECRET_ALIASES="X=$(id)"))
    assert result.returncode == 64


# --- healthcheck ------------------------------------------------------------------------------------------------

class StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def healthcheck(port: int, path: str = "/healthz") -> int:
    env = clean_env(HTTP_PORT=str(port), HEALTHCHECK_PATH=path)
    return run([sys.executable, str(HEALTHCHECK)], env=env).returncode


def test_healthcheck_passes_when_the_service_answers_2xx(health_server: int) -> None:
    assert healthcheck(health_server) == 0


def test_healthcheck_fails_when_the_service_answers_an_error_or_nothing(health_server: int) -> None:
    assert healthcheck(health_server, "/readyz") == 1
    assert healthcheck(free_port()) == 1


# --- SeaweedFS launcher -----------------------------------------------------------------------------------------

def fake_weed(tmp_path: Path) -> Path:
    """A `weed` that records its arguments and the S3 config it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    weed = bin_dir / "weed"
    weed.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$WEED_ARGS"\n')
    weed.chmod(0o755)
    return bin_dir


def launch_seaweedfs(tmp_path: Path, **extra: str) -> tuple[int, str, list[str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    args_file = tmp_path / "args"
    env = clean_env(PATH=f"{fake_weed(tmp_path)}:{os.environ['PATH']}", WEED_ARGS=str(args_file),
                    SEAWEEDFS_S3_CONFIG=str(tmp_path / "s3.json"), SEAWEEDFS_IP="s3", **extra)
    result = run(["sh", str(SEAWEEDFS)], env=env)
    args = args_file.read_text().split("\n")[:-1] if args_file.exists() else []
    return result.returncode, result.stderr, args


def test_seaweedfs_launcher_serves_s3_with_the_configured_identity_when_started(tmp_path: Path) -> None:
    code, stderr, args = launch_seaweedfs(tmp_path, S3_ACCESS_KEY="access-1", S3_SECRET_KEY="secret-1")
    assert code == 0, stderr
    assert args[0] == "server" and {"-dir=/data", "-ip=s3", "-s3", "-s3.port=8333"} <= set(args)
    assert f"-s3.config={tmp_path / 's3.json'}" in args
    config = json.loads((tmp_path / "s3.json").read_text())
    (identity,) = config["identities"]
    assert identity["credentials"] == [{"accessKey": "access-1", "secretKey": "secret-1"}]
    assert {"Read", "Write", "List"} <= set(identity["actions"])
    assert stat.S_IMODE((tmp_path / "s3.json").stat().st_mode) == 0o600


def test_seaweedfs_launcher_refuses_to_start_when_credentials_are_missing_or_unsafe(tmp_path: Path) -> None:
    code, stderr, args = launch_seaweedfs(tmp_path / "a", S3_ACCESS_KEY="access-1")
    assert code != 0 and "S3_SECRET_KEY" in stderr and args == []
    code, stderr, args = launch_seaweedfs(tmp_path / "b", S3_ACCESS_KEY="a", S3_SECRET_KEY='x"}, {"admin')
    assert code == 64 and args == []


# --- bucket creation against the test S3 server ---------------------------------------------------------------

@pytest.mark.integration
def test_create_bucket_creates_the_bucket_once_when_s3_is_up() -> None:
    settings = S3Settings(bucket=f"infra-{uuid.uuid4().hex[:12]}")
    env = clean_env(PYTHONPATH=str(ROOT), S3_ENDPOINT=settings.endpoint, S3_BUCKET=settings.bucket)
    client = Minio(settings.endpoint, access_key=settings.access_key.get_secret_value(),
                   secret_key=settings.secret_key.get_secret_value(), secure=settings.secure)
    try:
        first = run([sys.executable, str(CREATE_BUCKET)], env=env)
        second = run([sys.executable, str(CREATE_BUCKET)], env=env)
        assert first.returncode == 0 and "created" in first.stdout, first.stderr
        assert second.returncode == 0 and "exists" in second.stdout, second.stderr
        assert client.bucket_exists(settings.bucket)
    finally:
        if client.bucket_exists(settings.bucket):
            client.remove_bucket(settings.bucket)


def test_create_bucket_gives_up_with_an_error_when_s3_never_answers() -> None:
    env = clean_env(PYTHONPATH=str(ROOT), S3_ENDPOINT=f"127.0.0.1:{free_port()}", S3_INIT_ATTEMPTS="2")
    result = run([sys.executable, str(CREATE_BUCKET)], env=env)
    assert result.returncode == 1 and "could not create bucket" in result.stderr
