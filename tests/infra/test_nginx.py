"""nginx: `nginx -t` accepts infra/nginx/nginx.conf, and a real nginx on loopback serves exactly what the edge
should, over TLS with the deployment's own self-signed certificate: the webhook to the bot with its secret header,
signed links to the API without credentials (token out of the access log), the proxy headers in every location,
the client address from a trusted proxy only, ACME challenges on plain HTTP and nothing else there. Upstream names
go through a DNS server of the test's own, as through Docker's: a recreated upstream at a new address is found
without a reload, and a scaled one is used at all its addresses."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.docker import tls_init
from tests.infra.edge import (
    NGINX_ENTRYPOINT,
    PROXY_HEADERS,
    UPSTREAM_MAP,
    EdgePorts,
    FakeDns,
    Stub,
    client_context,
    edge_ports,
    render,
    request,
    running_nginx,
    start_stub,
)
from tests.infra.infra_files import NGINX_CONF, require_binary, run, service_env, services
from tests.ports import free_port

LOCATION = re.compile(r"^\s*location\s+[^{]+\{(?P<body>.*?)^\s{8}\}", re.MULTILINE | re.DOTALL)
RESOLVER_VALID_SECONDS = 1.0  # tests.infra.edge.render
TOKEN = "6f1c2b9e-8f5e-4c1a-9d7e-2b3c4d5e6f70.7.1893456000.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    return run([require_binary("nginx"), "-t", "-p", str(conf.parent), "-c", str(conf)])


def write_certificate(directory: Path) -> Path:
    """What tls-init writes for a bare-IP deployment, for the loopback address nginx listens on here (tls-init
    itself refuses a non-public address: tests/infra/test_ops_scripts.py)."""
    tls_init.ensure(
        tls_init.Plan("self-signed", "127.0.0.1"), directory / "tls", directory / "public", datetime.now(UTC)
    )
    return directory / "public" / "fullchain.pem"


@pytest.fixture(scope="module")
def dns_server() -> Iterator[FakeDns]:
    server = FakeDns()
    yield server
    server.close()


@dataclass
class Edge:
    ports: EdgePorts
    api: Stub
    bot: Stub
    dns: FakeDns
    prefix: Path
    certificate: Path

    def https(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        return request(self.ports.https, method, path, body, headers, tls=client_context(self.certificate))


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, dns_server: FakeDns) -> Iterator[Edge]:
    prefix = tmp_path_factory.mktemp("nginx")
    api, bot = start_stub("api", "127.0.0.2"), start_stub("bot", "127.0.0.3")
    dns_server.addresses.update(api=["127.0.0.2"], bot=["127.0.0.3"])
    ports = edge_ports({"api": api.port, "bot": bot.port}, dns_server.port)
    certificate = write_certificate(prefix)
    render(prefix, ports)
    configure = run(
        ["sh", str(NGINX_ENTRYPOINT), "configure"],
        env={
            "PATH": "/usr/bin:/bin",
            "DOCVAULT_NGINX_CONF_DIR": str(prefix / "conf.d"),
            "TRUSTED_PROXIES": "127.0.0.1",
        },
    )
    assert configure.returncode == 0, configure.stderr
    try:
        with running_nginx(prefix, ports):
            yield Edge(ports, api, bot, dns_server, prefix, certificate)
    finally:
        api.stop()
        bot.stop()


def last(stub: Stub) -> dict[str, str]:
    assert stub.seen, f"nothing reached {stub.name}"
    return stub.seen[-1].headers


# --- the config itself ------------------------------------------------------------------------------------------


def test_nginx_accepts_the_config_when_rendered_for_this_machine(tmp_path: Path, dns_server: FakeDns) -> None:
    write_certificate(tmp_path)
    result = nginx_test(render(tmp_path, edge_ports({"api": 1, "bot": 2}, dns_server.port)))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_check_rejects_a_broken_config_when_rendered(tmp_path: Path, dns_server: FakeDns) -> None:
    write_certificate(tmp_path)
    conf = render(tmp_path, edge_ports({"api": 1, "bot": 2}, dns_server.port))
    conf.write_text(conf.read_text(encoding="utf-8").replace("proxy_buffering off;", "proxy_buffering nope;", 1))
    assert nginx_test(conf).returncode != 0


def test_nginx_upstreams_are_compose_services_on_their_ports_when_resolved() -> None:
    all_services = services()
    for name, address in UPSTREAM_MAP.items():
        assert f"default {address};" in NGINX_CONF.read_text(encoding="utf-8")
        assert service_env(all_services[name])["HTTP_PORT"] == address.split(":")[1]


def test_nginx_proxies_through_names_it_resolves_again_when_containers_change() -> None:
    conf = NGINX_CONF.read_text(encoding="utf-8")
    assert re.search(r"^\s*resolver 127\.0\.0\.11 valid=\d+s", conf, re.MULTILINE)
    passes = re.findall(r"proxy_pass\s+([^;]+);", conf)
    assert passes and all(target in ("http://$docvault_api", "http://$docvault_bot") for target in passes)
    assert "upstream " not in conf, "an upstream block resolves its names once, at start"


def test_nginx_sends_the_proxy_headers_from_every_location_that_proxies_when_read() -> None:
    conf = NGINX_CONF.read_text(encoding="utf-8")
    for match in LOCATION.finditer(conf):
        body = match["body"]
        if "proxy_pass" in body:
            assert "include /etc/nginx/docvault/proxy_headers.conf;" in body, match[0][:80]
    headers = PROXY_HEADERS.read_text(encoding="utf-8")
    for header in ("Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID", "Connection"):
        assert f"proxy_set_header {header} " in headers


# --- the public door over TLS ---------------------------------------------------------------------------------


def test_edge_routes_the_telegram_webhook_to_the_bot_when_telegram_posts_over_tls(edge: Edge) -> None:
    status, body = edge.https(
        "POST",
        "/telegram/webhook",
        b'{"update_id": 1}',
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret"},
    )
    assert (status, json.loads(body)) == (200, {"service": "bot"})
    seen = edge.bot.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/telegram/webhook")
    assert seen.headers["x-telegram-bot-api-secret-token"] == "s3cret"
    assert edge.https("GET", "/telegram/webhook")[0] == 403


def test_edge_streams_signed_links_with_proxy_headers_and_without_credentials_when_a_browser_follows_one(
    edge: Edge,
) -> None:
    status, body = edge.https(
        "GET",
        f"/v1/files/signed/{TOKEN}",
        headers={
            "Authorization": "Bearer stolen",
            "Cookie": "a=b",
            "Range": "bytes=0-99",
            "X-Request-ID": "req-42",
            "Host": "docvault.example.org",
        },
    )
    assert (status, json.loads(body)) == (200, {"service": "api"})
    seen = last(edge.api)
    assert edge.api.seen[-1].path == f"/v1/files/signed/{TOKEN}"
    assert "authorization" not in seen and "cookie" not in seen
    assert seen["range"] == "bytes=0-99" and seen["x-request-id"] == "req-42"
    assert seen["host"] == "docvault.example.org" and seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "https" and seen.get("connection", "") != "close"
    assert edge.https("POST", "/v1/files/signed/doc-1")[0] == 403


def test_edge_keeps_link_tokens_out_of_the_access_log_when_links_are_followed(edge: Edge) -> None:
    marker = f"log-{time.monotonic_ns()}"
    edge.https("GET", f"/v1/files/signed/{TOKEN}", headers={"X-Request-ID": marker})
    log = edge.prefix / "access.log"
    deadline = time.monotonic() + 5
    while marker not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in log.read_text().splitlines() if marker in line)
    assert json.loads(line)["uri"] == "/v1/files/signed/<token>"
    assert TOKEN.split(".")[0] not in log.read_text() and TOKEN.split(".")[-1] not in log.read_text()


def test_edge_takes_the_client_address_from_a_trusted_proxy_when_it_forwards_one(edge: Edge) -> None:
    edge.https("POST", "/telegram/webhook", b"{}", {"X-Forwarded-For": "203.0.113.9"})
    assert last(edge.bot)["x-real-ip"] == "203.0.113.9"
    assert last(edge.bot)["x-forwarded-for"].startswith("203.0.113.9")


def test_edge_ignores_forwarded_addresses_when_the_peer_is_not_a_trusted_proxy(
    tmp_path: Path, dns_server: FakeDns
) -> None:
    bot = start_stub("bot", "127.0.0.3")
    try:
        ports = edge_ports({"api": free_port(), "bot": bot.port}, dns_server.port)
        dns_server.addresses["bot"] = ["127.0.0.3"]
        certificate = write_certificate(tmp_path)
        with running_nginx(tmp_path, ports):  # no TRUSTED_PROXIES: no set_real_ip_from at all
            request(
                ports.https,
                "POST",
                "/telegram/webhook",
                b"{}",
                {"X-Forwarded-For": "203.0.113.9"},
                tls=client_context(certificate),
            )
    finally:
        bot.stop()
    assert last(bot)["x-real-ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/documents",
        "/types",
        "/files/upload",
        "/openapi.json",
        "/docs",
        "/metrics",
        "/healthz",
        "/readyz",
        "/telegram/webhook/../../metrics",
    ],
)
def test_edge_hides_the_api_and_metrics_from_the_public_port_when_asked_directly(edge: Edge, path: str) -> None:
    before = len(edge.api.seen) + len(edge.bot.seen)
    status, _ = edge.https("GET", path, headers={"Authorization": "Bearer anything"})
    assert status == 404
    assert len(edge.api.seen) + len(edge.bot.seen) == before


def test_edge_refuses_oversized_webhook_bodies_when_posted(edge: Edge) -> None:
    status, _ = edge.https("POST", "/telegram/webhook", b"x" * (2 * 1024 * 1024))
    assert status == 413


def test_edge_serves_acme_challenges_and_nothing_else_on_plain_http_when_asked(edge: Edge) -> None:
    challenge = edge.prefix / "acme" / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-1").write_text("token-1.thumbprint")
    assert request(edge.ports.http, "GET", "/.well-known/acme-challenge/token-1") == (200, b"token-1.thumbprint")
    before = len(edge.api.seen) + len(edge.bot.seen)
    for path in ("/telegram/webhook", f"/v1/files/signed/{TOKEN}", "/"):
        assert request(edge.ports.http, "POST" if "webhook" in path else "GET", path)[0] == 404
    assert len(edge.api.seen) + len(edge.bot.seen) == before
    assert request(edge.ports.http, "GET", "/nginx-health") == (200, b"ok\n")


def test_internal_gateway_needs_a_bearer_token_when_other_services_call_the_api(edge: Edge) -> None:
    assert request(edge.ports.internal, "GET", "/documents")[0] == 401
    status, body = request(edge.ports.internal, "GET", "/documents?owner=1", headers={"Authorization": "Bearer t"})
    assert (status, json.loads(body)) == (200, {"service": "api"})
    assert last(edge.api)["authorization"] == "Bearer t" and last(edge.api)["x-request-id"]
    assert request(edge.ports.internal, "GET", "/metrics", headers={"Authorization": "Bearer t"})[0] == 404


def test_internal_gateway_streams_large_uploads_when_the_bot_stores_a_file(edge: Edge) -> None:
    size = 3 * 1024 * 1024
    status, _ = request(
        edge.ports.internal,
        "POST",
        "/files",
        b"\0" * size,
        {"Authorization": "Bearer t", "Content-Type": "application/octet-stream"},
    )
    assert status == 200
    assert edge.api.seen[-1].body_length == size


# --- upstreams that move and multiply -------------------------------------------------------------------------


def api_call(edge: Edge) -> int:
    """One call through the internal gateway (no rate limit there, unlike signed links)."""
    return request(edge.ports.internal, "GET", "/documents", headers={"Authorization": "Bearer t"})[0]


def served_by(edge: Edge, stub: Stub, attempts: int = 200) -> None:
    """Calls until one reaches ``stub``, then past the resolver's ``valid`` (1 s here): by then every nginx worker
    (each caches names on its own) has asked the DNS server again."""
    for _ in range(attempts):
        before = len(stub.seen)
        if api_call(edge) == 200 and len(stub.seen) > before:
            time.sleep(RESOLVER_VALID_SECONDS + 0.5)
            return
        time.sleep(0.05)
    raise AssertionError(f"nginx never reached {stub.name} at its new address")


def test_edge_follows_a_recreated_api_to_its_new_address_without_a_reload_when_dns_changes(edge: Edge) -> None:
    old = edge.api
    moved = start_stub("api-recreated", "127.0.0.4", old.port)
    try:
        old.stop()  # docker compose up -d: the old container goes, the new one has another address
        edge.dns.addresses["api"] = ["127.0.0.4"]
        served_by(edge, moved)
        assert [api_call(edge) for _ in range(20)] == [200] * 20
    finally:
        edge.api = start_stub("api", "127.0.0.2", old.port)
        edge.dns.addresses["api"] = ["127.0.0.2"]
        served_by(edge, edge.api)
        moved.stop()


def test_edge_spreads_requests_over_every_address_of_a_scaled_api_when_the_name_has_several(edge: Edge) -> None:
    replica = start_stub("api-2", "127.0.0.5", edge.api.port)
    try:
        edge.dns.addresses["api"] = ["127.0.0.2", "127.0.0.5"]
        served_by(edge, replica)
        before_first, before_second = len(edge.api.seen), len(replica.seen)
        for _ in range(40):
            assert api_call(edge) == 200
        assert len(edge.api.seen) > before_first and len(replica.seen) > before_second
    finally:
        edge.dns.addresses["api"] = ["127.0.0.2"]
        served_by(edge, edge.api)
        replica.stop()


def test_nginx_public_ports_are_https_and_http_only_when_compose_maps_ports() -> None:
    assert sorted(str(port).rsplit(":", 1)[-1] for port in services()["nginx"]["ports"]) == ["443", "80"]
