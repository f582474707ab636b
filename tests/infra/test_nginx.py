"""nginx: `nginx -t` accepts infra/nginx/nginx.conf with the upstream names pointed at loopback, and a real nginx
run on loopback (upstreams replaced by stub servers) routes exactly what the edge should: the webhook to the bot,
signed links to the API without credentials, and nothing else from the public port."""

from __future__ import annotations

import getpass
import http.client
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.infra.infra_files import NGINX_CONF, require_binary, run, service_env, services
from tests.ports import free_port

UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([a-z][\w-]*):(\d+)(.*;)$", re.MULTILINE)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r} in {NGINX_CONF.name}"
    return text.replace(old, new)


def upstream_hosts(conf: str) -> list[tuple[str, int]]:
    return [(host, int(port)) for _, host, port, _ in UPSTREAM_SERVER.findall(conf)]


def render(prefix: Path, upstream_ports: dict[str, int] | None = None, listen: dict[int, int] | None = None) -> Path:
    """A copy of the config that runs here: upstream names -> 127.0.0.1, and machine-specific paths."""
    conf = NGINX_CONF.read_text(encoding="utf-8")

    def to_loopback(match: re.Match[str]) -> str:
        port = (upstream_ports or {}).get(match[2], int(match[3]))
        return f"{match[1]}127.0.0.1:{port}{match[4]}"

    conf, count = UPSTREAM_SERVER.subn(to_loopback, conf)
    assert count == len(upstream_hosts(NGINX_CONF.read_text(encoding="utf-8"))) and count >= 2
    conf = replace_once(conf, "user nginx;", f"user {getpass.getuser()};" if os.geteuid() == 0 else "")
    conf = replace_once(conf, "pid /tmp/nginx.pid;", f"pid {prefix}/nginx.pid;")
    conf = replace_once(conf, "error_log /dev/stderr warn;", f"error_log {prefix}/error.log warn;")
    conf = replace_once(conf, "access_log /dev/stdout docvault;", f"access_log {prefix}/access.log docvault;")
    temp_paths = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = replace_once(conf, "http {\n", "http {\n" + temp_paths)
    for port, local in (listen or {}).items():
        conf = re.sub(rf"^(\s*listen\s+){port}\b", rf"\g<1>127.0.0.1:{local}", conf, count=1, flags=re.MULTILINE)
    path = prefix / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    return run([require_binary("nginx"), "-t", "-p", str(conf.parent), "-c", str(conf)])


def test_nginx_accepts_the_config_when_upstream_names_resolve_to_loopback(tmp_path: Path) -> None:
    result = nginx_test(render(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_check_rejects_a_broken_config_when_rendered(tmp_path: Path) -> None:
    conf = render(tmp_path)
    conf.write_text(conf.read_text(encoding="utf-8").replace("proxy_buffering off;", "proxy_buffering nope;", 1))
    assert nginx_test(conf).returncode != 0


def test_nginx_upstreams_are_compose_services_on_their_ports_when_resolved() -> None:
    all_services = services()
    hosts = upstream_hosts(NGINX_CONF.read_text(encoding="utf-8"))
    assert {host for host, _ in hosts} == {"api", "bot"}
    for host, port in hosts:
        assert service_env(all_services[host])["HTTP_PORT"] == str(port)


# --- a real nginx on loopback -----------------------------------------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body_length: int


@dataclass
class Stub:
    """An upstream stand-in that records what reaches it."""

    name: str
    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def start_stub(name: str) -> Stub:
    stub: Stub

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            remaining = length
            while remaining:
                remaining -= len(self.rfile.read(min(remaining, 1 << 16)))
            stub.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, length))
            body = json.dumps({"service": name}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    stub = Stub(name, ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    threading.Thread(target=stub.server.serve_forever, daemon=True).start()
    return stub


@dataclass
class Edge:
    public: int
    internal: int
    api: Stub
    bot: Stub

    def request(self, port: int, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {log.read_text(errors='replace') if log.exists() else ''}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("HEAD", "/nginx-health")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not start listening within 10 s")


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    prefix = tmp_path_factory.mktemp("nginx")
    api, bot = start_stub("api"), start_stub("bot")
    public, internal = free_port(), free_port()
    conf = render(prefix, {"api": api.port, "bot": bot.port}, {80: public, 8000: internal})
    process = subprocess.Popen([require_binary("nginx"), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(public, process, prefix / "error.log")
        yield Edge(public, internal, api, bot)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        api.server.shutdown()
        bot.server.shutdown()


def last(stub: Stub) -> Seen:
    assert stub.seen, f"nothing reached {stub.name}"
    return stub.seen[-1]


def test_edge_routes_the_telegram_webhook_to_the_bot_when_telegram_posts(edge: Edge) -> None:
    status, body = edge.request(edge.public, "POST", "/telegram/webhook", b'{"update_id": 1}',
                                {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret"})
    assert (status, json.loads(body)) == (200, {"service": "bot"})
    seen = last(edge.bot)
    assert (seen.method, seen.path) == ("POST", "/telegram/webhook")
    assert seen.headers["x-telegram-bot-api-secret-token"] == "s3cret"
    assert edge.request(edge.public, "GET", "/telegram/webhook")[0] == 403


def test_edge_streams_signed_links_to_the_api_without_credentials_when_a_browser_follows_one(edge: Edge) -> None:
    status, body = edge.request(edge.public, "GET", "/v1/files/signed/doc-1?owner=7&exp=9&sig=abc",
                                headers={"Authorization": "Bearer stolen", "Cookie": "a=b", "Range": "bytes=0-99",
                                         "X-Request-ID": "req-42"})
    assert (status, json.loads(body)) == (200, {"service": "api"})
    seen = last(edge.api)
    assert seen.path == "/v1/files/signed/doc-1?owner=7&exp=9&sig=abc"
    assert "authorization" not in seen.headers and "cookie" not in seen.headers
    assert seen.headers["range"] == "bytes=0-99" and seen.headers["x-request-id"] == "req-42"
    assert edge.request(edge.public, "POST", "/v1/files/signed/doc-1")[0] == 403


@pytest.mark.parametrize("path", ["/", "/documents", "/types", "/files/upload", "/openapi.json", "/docs",
                                  "/metrics", "/healthz", "/readyz", "/telegram/webhook/../../metrics"])
def test_edge_hides_the_api_and_metrics_from_the_public_port_when_asked_directly(edge: Edge, path: str) -> None:
    before = len(edge.api.seen) + len(edge.bot.seen)
    status, _ = edge.request(edge.public, "GET", path, headers={"Authorization": "Bearer anything"})
    assert status == 404
    assert len(edge.api.seen) + len(edge.bot.seen) == before


def test_edge_refuses_oversized_webhook_bodies_when_posted(edge: Edge) -> None:
    status, _ = edge.request(edge.public, "POST", "/telegram/webhook", b"x" * (2 * 1024 * 1024))
    assert status == 413


def test_internal_gateway_needs_a_bearer_token_when_other_services_call_the_api(edge: Edge) -> None:
    assert edge.request(edge.internal, "GET", "/documents")[0] == 401
    status, body = edge.request(edge.internal, "GET", "/documents?owner=1", headers={"Authorization": "Bearer t"})
    assert (status, json.loads(body)) == (200, {"service": "api"})
    assert last(edge.api).headers["authorization"] == "Bearer t"
    assert edge.request(edge.internal, "GET", "/metrics", headers={"Authorization": "Bearer t"})[0] == 404


def test_internal_gateway_streams_large_uploads_when_the_bot_stores_a_file(edge: Edge) -> None:
    size = 3 * 1024 * 1024
    status, _ = edge.request(edge.internal, "POST", "/files", b"\0" * size,
                             {"Authorization": "Bearer t", "Content-Type": "application/octet-stream"})
    assert status == 200
    assert last(edge.api).body_length == size


def test_nginx_internal_port_is_never_published_when_compose_maps_ports() -> None:
    assert [str(port).rsplit(":", 1)[-1] for port in services()["nginx"]["ports"]] == ["80"]
