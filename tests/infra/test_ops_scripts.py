"""The small programs compose runs around the services, run here for real: secrets-init (per-service files, owners,
modes, kept values, the servers' own files), tls-init (which certificate for which address, one clear line for a
bad one), nginx's start-up step (trusted proxies, reload on a new certificate), the certbot loop (with a stand-in
`certbot`), mongo-init's settings check, the container healthcheck and bucket creation (against moto's S3)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from minio import Minio

from infra.docker import generate_secrets as gs
from infra.docker import tls_init
from service_kit.settings import S3Settings
from tests.infra.edge import NGINX_ENTRYPOINT
from tests.infra.infra_files import INFRA, ROOT, run
from tests.ports import free_port

GENERATE = INFRA / "docker" / "generate_secrets.py"
TLS_INIT = INFRA / "docker" / "tls_init.py"
MONGO_USERS = INFRA / "docker" / "mongo_users.py"
HEALTHCHECK = INFRA / "docker" / "healthcheck.py"
CREATE_BUCKET = INFRA / "s3" / "create_bucket.py"
CERTBOT = INFRA / "acme" / "certbot.sh"
TOKEN = "4242:abcdefghijklmnopqrstuvwxyz"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any secret, S3, MongoDB or DocVault variable, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in gs.SECRET_NAMES and not key.startswith(("S3_", "DOCVAULT_", "MONGO_", "PUBLIC_"))
    }
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


# --- secrets-init -----------------------------------------------------------------------------------------------


def generate(root: Path, **extra: str) -> tuple[int, str]:
    env = clean_env(
        DOCVAULT_SECRETS_DIR=str(root / "store"),
        DOCVAULT_DELIVERY_DIR=str(root / "deliver"),
        **{"BOT_TOKEN": TOKEN, **extra},
    )
    result = run([sys.executable, str(GENERATE)], env=env)
    return result.returncode, result.stdout + result.stderr


def delivered(root: Path, service: str) -> dict[str, str]:
    return {path.name: path.read_text() for path in (root / "deliver" / service).iterdir()}


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        raise AssertionError("secrets-init sets file owners: run the tests as root (CI does)")


def test_generate_secrets_gives_each_service_only_its_files_for_its_user_when_first_run(
    tmp_path: Path, as_root: None
) -> None:
    code, output = generate(tmp_path)
    assert code == 0, output
    for recipient in gs.RECIPIENTS:
        directory = tmp_path / "deliver" / recipient.service
        files = recipient.files(gs.read_store(tmp_path / "store"), gs.Context())
        assert sorted(path.name for path in directory.iterdir()) == sorted(files), recipient.service
        assert (directory.stat().st_uid, stat.S_IMODE(directory.stat().st_mode)) == (recipient.uid, 0o500)
        for path in directory.iterdir():
            info = path.stat()
            assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (recipient.uid, recipient.gid, 0o400)
    stored = gs.read_store(tmp_path / "store")
    assert set(stored) == set(gs.SECRET_NAMES) and stored["BOT_TOKEN"] == TOKEN
    assert all(len(stored[name]) >= 40 for name in gs.GENERATED) and len(set(stored.values())) == len(stored)
    assert not any(value in output for value in stored.values())


def test_generate_secrets_keeps_values_and_rabbitmq_hashes_when_run_again(tmp_path: Path, as_root: None) -> None:
    generate(tmp_path)
    before = {recipient.service: delivered(tmp_path, recipient.service) for recipient in gs.RECIPIENTS}
    code, output = generate(tmp_path)
    assert code == 0 and "kept: API_SERVICE_TOKEN" in output
    assert {recipient.service: delivered(tmp_path, recipient.service) for recipient in gs.RECIPIENTS} == before


def test_generate_secrets_writes_rabbitmq_hashes_of_the_passwords_when_delivering(
    tmp_path: Path, as_root: None
) -> None:
    generate(tmp_path)
    stored = gs.read_store(tmp_path / "store")
    users = {u["name"]: u for u in json.loads(delivered(tmp_path, "rabbitmq")["definitions.json"])["users"]}
    assert gs.matches_rabbitmq_hash(stored["RABBITMQ_BOT_PASSWORD"], users["docvault-bot"]["password_hash"])
    assert not gs.matches_rabbitmq_hash(stored["RABBITMQ_ADMIN_PASSWORD"], users["docvault-bot"]["password_hash"])
    assert stored["RABBITMQ_BOT_PASSWORD"] not in delivered(tmp_path, "rabbitmq")["definitions.json"]


def test_generate_secrets_takes_values_from_the_environment_when_given(tmp_path: Path, as_root: None) -> None:
    generate(tmp_path)
    tricky = 'it\'s $(touch pwned) `id` "quoted" and spaced'
    code, output = generate(tmp_path, API_SERVICE_TOKEN=tricky)
    assert code == 0 and "environment: BOT_TOKEN, API_SERVICE_TOKEN" in output
    assert delivered(tmp_path, "api")["API_SERVICE_TOKEN"] == delivered(tmp_path, "bot")["API_SERVICE_TOKEN"] == tricky
    assert not (Path.cwd() / "pwned").exists()


def test_generate_secrets_keeps_the_values_of_an_older_single_file_when_upgrading(
    tmp_path: Path, as_root: None
) -> None:
    (tmp_path / "store").mkdir()
    legacy = "API_SERVICE_TOKEN=old-token\nGRAFANA_ADMIN_PASSWORD='old pw'\nRABBITMQ_PASSWORD=gone\n"
    (tmp_path / "store" / gs.LEGACY_FILE).write_text(legacy)
    code, output = generate(tmp_path)
    assert code == 0, output
    assert delivered(tmp_path, "api")["API_SERVICE_TOKEN"] == "old-token"
    assert delivered(tmp_path, "grafana")["GRAFANA_ADMIN_PASSWORD"] == "old pw"


def test_generate_secrets_removes_a_file_a_service_no_longer_gets_when_run(tmp_path: Path, as_root: None) -> None:
    generate(tmp_path)
    stale = tmp_path / "deliver" / "bot" / "LINK_SIGNING_KEY"
    stale.write_text("should not be here")
    generate(tmp_path)
    assert not stale.exists()


def test_generate_secrets_refuses_a_multi_line_value_or_a_missing_token_when_given(
    tmp_path: Path, as_root: None
) -> None:
    code, output = generate(tmp_path, LINK_SIGNING_KEY="one\ntwo")
    assert code == 2 and "LINK_SIGNING_KEY" in output and not (tmp_path / "store").exists()
    code, output = generate(tmp_path / "b", BOT_TOKEN="")
    assert code == 2 and output.strip() == "secrets-init: error: BOT_TOKEN is required (set it in .env)"


# --- tls-init ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "port", "message"),
    [
        ("http://203.0.113.7", 443, "over https only"),
        ("https://docvault.example.org:8080", 8080, "port 8080: use 443, 88 or 8443"),
        ("https://docvault.example.org:80", 80, "port 80: use 443, 88 or 8443"),
        ("https://docvault.example.org:8443", 443, "port 8443, but nginx is published on PUBLIC_HTTPS_PORT=443"),
        ("https://10.0.0.5", 443, "10.0.0.5 is not a public address"),
        ("https://localhost", 443, "'localhost' is neither a domain name nor an IP address"),
        ("https://[::1", 443, "is not a URL"),
    ],
)
def test_tls_plan_refuses_an_address_telegram_cannot_use_when_configured(url: str, port: int, message: str) -> None:
    with pytest.raises(tls_init.ConfigError, match=message.replace("[", r"\[")):
        tls_init.plan(url, port)


def test_tls_plan_picks_acme_for_a_domain_and_self_signed_for_a_bare_ip_when_configured() -> None:
    assert tls_init.plan("https://DocVault.example.org", 443) == tls_init.Plan("acme", "docvault.example.org")
    assert tls_init.plan("https://1.2.3.4:8443/", 8443) == tls_init.Plan("self-signed", "1.2.3.4")
    assert tls_init.plan("", 443) == tls_init.Plan("local", "localhost")


def test_tls_init_writes_a_self_signed_certificate_for_the_address_when_it_is_a_bare_ip(tmp_path: Path) -> None:
    tls, public = tmp_path / "tls", tmp_path / "public"
    assert tls_init.ensure(tls_init.Plan("self-signed", "1.2.3.4"), tls, public, NOW) == "self-signed written"
    cert = x509.load_pem_x509_certificate((public / "fullchain.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["1.2.3.4"]
    assert cert.issuer == cert.subject and cert.not_valid_after_utc > NOW + dt.timedelta(days=3000)
    assert stat.S_IMODE((tls / "privkey.pem").stat().st_mode) == 0o400
    assert (tls / "acme-domain").read_text() == ""
    first = (tls / "fullchain.pem").read_bytes()
    assert tls_init.ensure(tls_init.Plan("self-signed", "1.2.3.4"), tls, public, NOW) == "kept"
    assert (tls / "fullchain.pem").read_bytes() == first
    tls_init.ensure(tls_init.Plan("self-signed", "5.6.7.8"), tls, public, NOW)
    assert (tls / "fullchain.pem").read_bytes() != first  # the address changed


def test_tls_init_keeps_certbots_certificate_and_names_the_domain_when_it_is_a_domain(tmp_path: Path) -> None:
    tls, public = tmp_path / "tls", tmp_path / "public"
    wanted = tls_init.Plan("acme", "docvault.example.org")
    assert tls_init.ensure(wanted, tls, public, NOW).startswith("placeholder written")
    assert (tls / "acme-domain").read_text() == "docvault.example.org"
    issued, key = tls_init.self_signed("docvault.example.org", None, 90, NOW)  # stands in for certbot's
    (tls / "fullchain.pem").write_bytes(issued)
    assert tls_init.ensure(wanted, tls, public, NOW + dt.timedelta(days=80)) == "kept"
    assert (tls / "fullchain.pem").read_bytes() == issued


def test_tls_init_stops_with_one_line_when_the_public_url_cannot_work(tmp_path: Path) -> None:
    result = run(
        [sys.executable, str(TLS_INIT)],
        env=clean_env(
            PUBLIC_BASE_URL="http://docvault.example.org",
            TLS_DIR=str(tmp_path / "tls"),
            TLS_PUBLIC_DIR=str(tmp_path / "public"),
        ),
    )
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        "tls-init: settings error: PUBLIC_BASE_URL='http://docvault.example.org': Telegram delivers webhooks over "
        "https only (https://host[:port])"
    ]
    assert not (tmp_path / "tls").exists()


# --- nginx's start-up step -----------------------------------------------------------------------------------


def test_nginx_entrypoint_trusts_only_the_listed_proxies_when_configured(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DOCVAULT_NGINX_CONF_DIR": str(tmp_path)}
    result = run(["sh", str(NGINX_ENTRYPOINT), "configure"], env=env | {"TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::1"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "docvault-trusted-proxies.conf").read_text() == (
        "set_real_ip_from 10.0.0.0/8;\nset_real_ip_from 2001:db8::1;\n"
    )
    result = run(["sh", str(NGINX_ENTRYPOINT), "configure"], env=env | {"TRUSTED_PROXIES": "10.0.0.1;evil"})
    assert result.returncode == 78 and "TRUSTED_PROXIES entry '10.0.0.1;evil'" in result.stderr
    assert (tmp_path / "docvault-trusted-proxies.conf").read_text().count("set_real_ip_from") == 2


def fake_binary(directory: Path, name: str) -> Path:
    """A program that appends its arguments (one line per call) to ``<directory>/<name>.calls``."""
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text(f'#!/bin/sh\necho "$@" >> "{directory}/{name}.calls"\n')
    program.chmod(0o755)
    return directory / f"{name}.calls"


def test_nginx_entrypoint_reloads_nginx_when_the_certificate_changes(tmp_path: Path) -> None:
    calls = fake_binary(tmp_path / "bin", "nginx")
    cert = tmp_path / "fullchain.pem"
    cert.write_text("first")
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "DOCVAULT_NGINX_CERT": str(cert), "CERT_CHECK_SECONDS": "0.1"}
    watcher = subprocess.Popen(["sh", str(NGINX_ENTRYPOINT), "watch"], env=env, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        assert not calls.exists()  # unchanged: no reload
        cert.write_text("renewed")
        deadline = time.monotonic() + 10
        while not calls.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.kill()
        watcher.wait()
    assert calls.read_text() == "-s reload\n"


# --- certbot --------------------------------------------------------------------------------------------------


def certbot_round(tmp_path: Path, domain: str) -> tuple[int, list[str]]:
    calls = fake_binary(tmp_path / "bin", "certbot")
    (tmp_path / "tls").mkdir(exist_ok=True)
    (tmp_path / "tls" / "acme-domain").write_text(domain)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "TLS_DIR": str(tmp_path / "tls"),
        "ACME_EMAIL": "ops@example.org",
    }
    result = run(["sh", str(CERTBOT), "once"], env=env)
    return result.returncode, calls.read_text().splitlines() if calls.exists() else []


def test_certbot_asks_for_the_domain_through_the_webroot_when_tls_init_names_one(tmp_path: Path) -> None:
    code, calls = certbot_round(tmp_path, "docvault.example.org")
    assert code == 0 and len(calls) == 1
    words = calls[0].split()
    assert words[:4] == ["certonly", "--webroot", "-w", "/var/www/acme"]
    assert {
        "-d",
        "docvault.example.org",
        "--keep-until-expiring",
        "--non-interactive",
        "--agree-tos",
        "--email",
        "ops@example.org",
        "--deploy-hook",
    } <= set(words)


def test_certbot_does_nothing_when_the_address_is_a_bare_ip(tmp_path: Path) -> None:
    assert certbot_round(tmp_path, "") == (0, [])


def test_certbot_deploy_hands_nginx_the_new_certificate_when_certbot_renewed_it(tmp_path: Path) -> None:
    lineage, tls = tmp_path / "live" / "docvault", tmp_path / "tls"
    lineage.mkdir(parents=True)
    tls.mkdir()
    (lineage / "fullchain.pem").write_text("chain")
    (lineage / "privkey.pem").write_text("key")
    env = {"PATH": "/usr/bin:/bin", "TLS_DIR": str(tls), "RENEWED_LINEAGE": str(lineage)}
    result = run(["sh", str(CERTBOT), "deploy"], env=env)
    assert result.returncode == 0, result.stderr
    assert (tls / "fullchain.pem").read_text() == "chain" and (tls / "privkey.pem").read_text() == "key"
    assert stat.S_IMODE((tls / "privkey.pem").stat().st_mode) == 0o400


# --- mongo-init -------------------------------------------------------------------------------------------------


def test_mongo_init_stops_with_one_line_when_a_password_is_missing(tmp_path: Path) -> None:
    (tmp_path / "api").write_text("api-password\n")
    result = run(
        [sys.executable, str(MONGO_USERS)],
        env=clean_env(
            MONGO_API_PASSWORD_FILE=str(tmp_path / "api"), MONGO_PROCESSORS_PASSWORD_FILE=str(tmp_path / "missing")
        ),
    )
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        f"mongo-init: settings error: MONGO_PROCESSORS_PASSWORD_FILE={tmp_path / 'missing'}: cannot read it "
        "(No such file or directory)"
    ]


# --- healthcheck ------------------------------------------------------------------------------------------------


class StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
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


def healthcheck(port: int, *path: str) -> int:
    return run([sys.executable, str(HEALTHCHECK), *path], env=clean_env(HTTP_PORT=str(port))).returncode


def test_healthcheck_asks_for_readiness_and_passes_when_the_service_answers_2xx(health_server: int) -> None:
    assert healthcheck(health_server) == 0
    assert healthcheck(health_server, "/readyz") == 0


def test_healthcheck_fails_when_the_service_answers_an_error_or_nothing(health_server: int) -> None:
    assert healthcheck(health_server, "/healthz") == 1
    assert healthcheck(free_port()) == 1


# --- bucket creation against the test S3 server ---------------------------------------------------------------


@pytest.mark.integration
def test_create_bucket_creates_the_bucket_once_when_s3_is_up() -> None:
    settings = S3Settings(
        endpoint=os.environ.get("S3_ENDPOINT", "127.0.0.1:9000"), bucket=f"infra-{uuid.uuid4().hex[:12]}"
    )
    env = clean_env(S3_ENDPOINT=settings.endpoint, S3_BUCKET=settings.bucket)
    client = Minio(
        settings.endpoint,
        access_key=settings.access_key.get_secret_value(),
        secret_key=settings.secret_key.get_secret_value(),
        secure=settings.secure,
    )
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
    env = clean_env(S3_ENDPOINT=f"127.0.0.1:{free_port()}", S3_INIT_ATTEMPTS="2")
    result = run([sys.executable, str(CREATE_BUCKET)], env=env)
    assert result.returncode == 1 and "could not create bucket" in result.stderr
