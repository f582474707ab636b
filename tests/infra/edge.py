"""infra/nginx/nginx.conf run for real on loopback: the config rendered with machine paths and ports, a DNS
server of the test's own standing in for Docker's (so that names are re-resolved as in compose), stub upstreams
that record what reaches them, and a TLS client trusting the deployment's self-signed certificate."""

from __future__ import annotations

import getpass
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tests.infra.infra_files import INFRA, NGINX_CONF, require_binary
from tests.ports import free_port

PROXY_HEADERS = INFRA / "nginx" / "proxy_headers.conf"
NGINX_ENTRYPOINT = INFRA / "nginx" / "docvault-entrypoint.sh"
UPSTREAM_MAP = {"api": "api:8000", "bot": "bot:8080"}


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r} in {NGINX_CONF.name}"
    return text.replace(old, new)


@dataclass(frozen=True)
class EdgePorts:
    """Loopback ports for nginx's three servers and the test DNS server; upstream ports by service name."""

    https: int
    http: int
    internal: int
    dns: int
    upstreams: Mapping[str, int]


def render(
    prefix: Path,
    ports: EdgePorts,
    resolver_valid: str = "1s",
    tls_dir: Path | None = None,
    acme_dir: Path | None = None,
) -> Path:
    """A copy of the config that runs here: paths under ``prefix`` (the certificate in ``tls_dir`` and the ACME
    webroot in ``acme_dir`` when given: the volumes compose would mount), ports on loopback, the test's resolver."""
    tls_dir, acme_dir = tls_dir or prefix / "tls", acme_dir or prefix / "acme"
    conf = NGINX_CONF.read_text(encoding="utf-8")
    conf = replace_once(conf, "user nginx;", f"user {getpass.getuser()};" if os.geteuid() == 0 else "")
    conf = replace_once(conf, "pid /tmp/nginx.pid;", f"pid {prefix}/nginx.pid;")
    conf = replace_once(conf, "error_log /dev/stderr warn;", f"error_log {prefix}/error.log warn;")
    conf = replace_once(conf, "access_log /dev/stdout docvault;", f"access_log {prefix}/access.log docvault;")
    conf = replace_once(
        conf,
        "resolver 127.0.0.11 valid=5s ipv6=off;",
        f"resolver 127.0.0.1:{ports.dns} valid={resolver_valid} ipv6=off;",
    )
    for name, address in UPSTREAM_MAP.items():
        conf = replace_once(conf, f"default {address};", f"default {name}:{ports.upstreams[name]};")
    conf = conf.replace("/etc/nginx/docvault/proxy_headers.conf", str(PROXY_HEADERS))
    conf = replace_once(
        conf,
        "include /etc/nginx/conf.d/docvault-trusted-proxies*.conf;",
        f"include {prefix}/conf.d/docvault-trusted-proxies*.conf;",
    )
    conf = replace_once(
        conf, "ssl_certificate /etc/nginx/tls/fullchain.pem;", f"ssl_certificate {tls_dir}/fullchain.pem;"
    )
    conf = replace_once(
        conf, "ssl_certificate_key /etc/nginx/tls/privkey.pem;", f"ssl_certificate_key {tls_dir}/privkey.pem;"
    )
    conf = replace_once(conf, "root /var/www/acme;", f"root {acme_dir};")
    conf = replace_once(conf, "listen 80 default_server;", f"listen 127.0.0.1:{ports.http} default_server;")
    conf = replace_once(conf, "listen 443 ssl default_server;", f"listen 127.0.0.1:{ports.https} ssl default_server;")
    conf = replace_once(conf, "listen 8000;", f"listen 127.0.0.1:{ports.internal};")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = replace_once(conf, "http {\n", "http {\n" + temp_paths)
    for directory in (prefix / "conf.d", tls_dir, acme_dir):
        directory.mkdir(exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


# --- a DNS server standing in for Docker's --------------------------------------------------------------------


class FakeDns:
    """Answers A queries for the names in ``addresses`` (several addresses: a scaled service), NXDOMAIN else."""

    def __init__(self) -> None:
        self.addresses: dict[str, list[str]] = {}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, client = self.socket.recvfrom(4096)
            except OSError:
                return
            self.socket.sendto(self._answer(data), client)

    def _answer(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            found = self.addresses.get(name)
            if question.rdtype == dns.rdatatype.A and found:
                response.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", *found))
            elif not found:
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def close(self) -> None:
        self.socket.close()


# --- stub upstreams -------------------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body_length: int


@dataclass
class Stub:
    """An upstream stand-in that records what reaches it and answers with its own name."""

    name: str
    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_stub(name: str, host: str = "127.0.0.1", port: int = 0) -> Stub:
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

    ThreadingHTTPServer.allow_reuse_address = True
    stub = Stub(name, ThreadingHTTPServer((host, port), Handler))
    threading.Thread(target=stub.server.serve_forever, daemon=True).start()
    return stub


# --- nginx and clients ----------------------------------------------------------------------------------------


def client_context(certificate: Path) -> ssl.SSLContext:
    """What Telegram does with an uploaded certificate: trust exactly it, and check the address it names."""
    context = ssl.create_default_context(cafile=str(certificate))
    context.check_hostname = True
    return context


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> tuple[int, bytes]:
    connection: http.client.HTTPConnection
    if tls is not None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=dict(headers or {}))
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
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not start listening within 10 s")


def edge_ports(upstreams: Mapping[str, int], dns_port: int) -> EdgePorts:
    return EdgePorts(free_port(), free_port(), free_port(), dns_port, dict(upstreams))


@contextmanager
def running_nginx(
    prefix: Path, ports: EdgePorts, tls_dir: Path | None = None, acme_dir: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """nginx with the rendered config in the foreground until the block ends (certificate already in place)."""
    conf = render(prefix, ports, tls_dir=tls_dir, acme_dir=acme_dir)
    process = subprocess.Popen(
        [require_binary("nginx"), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(ports.https, process, prefix / "error.log")
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
