"""docker-compose.yml, started without a Docker engine: every container of ours (secrets-init, tls-init, mongo-init,
s3-init, processors, api, bot) runs as a local process with exactly the command and environment compose gives it
(the image's ENV plus the service's ``environment``, interpolated from an operator's .env as compose does), its
volumes as directories, and the servers of other images played by local programs fed from the same volumes:

* rabbitmq: the machine's broker; a vhost of the test's own and the definitions secrets-init wrote, imported with
  ``rabbitmqctl import_definitions`` (users renamed with a suffix: the broker is shared), deleted afterwards;
* mongo: SecantusDB of the test's own; the root user created from the mongo volume's password, as the image's
  first start does, then restarted with ``--auth``;
* redis: redis-server of the test's own, started with compose's command line (the ACL file from its volume);
* s3: moto's server of the test's own (it checks no signature: SeaweedFS's identities are read, not enforced);
* nginx: the machine's nginx with infra/nginx/nginx.conf, the certificate from the tls volume, and a DNS server
  of the test's own standing in for Docker's;
* certbot: infra/acme/certbot.sh with a stand-in ``certbot``;
* prometheus, grafana: not started (tests/infra checks their files with promtool).

What differs from compose, and only that (``SiteMapping``): addresses (a compose service's ``host:port`` becomes
the loopback port its stand-in listens on; MongoDB's ``replicaSet=rs0`` becomes ``directConnection=true``, as
SecantusDB names its set otherwise), paths (a container path under a mount becomes the volume's directory), the
RabbitMQ vhost and user names (isolation on the shared broker). Processes run as root: containers are kept apart
by what compose mounts, which the processes mirror (each one's paths point into its own volumes only); the owners
and modes secrets-init sets are checked by reading the files as the services' uids (``read_as``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pymongo import AsyncMongoClient

from infra.docker import generate_secrets as gs
from infra.docker import tls_init
from tests.e2e.processes import Service
from tests.fake_telegram.server import SECRET_HEADER, FakeTelegram, Webhook, _ApiError
from tests.infra.edge import NGINX_ENTRYPOINT, EdgePorts, FakeDns, running_nginx, stop_process
from tests.infra.infra_files import ROOT, Json, compose, dockerfile_instructions, mounts, service_env
from tests.ports import free_port

BOT_TOKEN = "4242:deployment-test-token"
PUBLIC_HOST, PUBLIC_PORT = "1.2.3.4", 8443  # a bare public IP: the self-signed, uploaded-certificate mode
VENV_BIN = Path(sys.executable).parent
# What the operator writes into .env for this test (everything else: compose's defaults).
OPERATOR_ENV = {
    "BOT_TOKEN": BOT_TOKEN,
    "BOT_MODE": "webhook",
    "PUBLIC_HTTPS_PORT": str(PUBLIC_PORT),
    "PUBLIC_BASE_URL": f"https://{PUBLIC_HOST}:{PUBLIC_PORT}",
    "LINKS_ENABLED": "true",
    "TRUSTED_PROXIES": "10.0.0.0/8",
}
# Default paths of the start-up scripts: compose mounts the volumes exactly there, so here they become the volumes.
SCRIPT_PATHS = {
    "secrets-init": {"DOCVAULT_SECRETS_DIR": gs.STORE_DIR, "DOCVAULT_DELIVERY_DIR": gs.DELIVERY_DIR},
    "tls-init": {"TLS_DIR": tls_init.TLS_DIR, "TLS_PUBLIC_DIR": tls_init.TLS_PUBLIC_DIR},
}
NOT_STARTED = {"prometheus", "grafana"}


def image_environment() -> dict[str, str]:
    """The image's ENV (Dockerfile, last stage), with its paths made local."""
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "FROM":
            env = {}
        elif instruction == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", arguments))
    env["PATH"] = f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"
    env["PYTHONPATH"] = str(ROOT)
    return env


def ops_scripts() -> dict[str, Path]:
    """/app/ops/<name> -> the repository file the Dockerfile copies there."""
    copied: dict[str, Path] = {}
    for instruction, arguments in dockerfile_instructions():
        words = arguments.split()
        if instruction == "COPY" and words[-1] == "./ops/":
            copied.update({f"/app/ops/{Path(word).name}": ROOT / word for word in words[:-1]})
    return copied


def topological(services: Mapping[str, Json]) -> list[str]:
    """Compose's start order: every service after what it depends on (ties in file order)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for dependency in services[name].get("depends_on") or {}:
                visit(dependency)
            order.append(name)

    for name in services:
        visit(name)
    return order


@dataclass
class SiteMapping:
    """Where compose's names and ports are on this machine (the only changes to what compose gives)."""

    root: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ports: dict[str, int] = field(default_factory=dict)  # compose "host:port" -> loopback port

    @property
    def vhost(self) -> str:
        return f"dvtest-{self.suffix}"

    def user(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    def container_root(self, service: str) -> Path:
        return self.root / "containers" / service

    def volume(self, name: str) -> Path:
        path = self.root / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def mount(self, service: str, definition: Json) -> None:
        """Each mount target of the service, inside its container root, points at the volume or the bind."""
        for source, target, _ in mounts(definition):
            link = self.container_root(service) / target.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(ROOT / source if source.startswith(".") else self.volume(source))

    def path(self, service: str, value: str, definition: Json) -> str:
        """A container path under (or above) one of the service's mounts -> the same path in its container root."""
        if not value.startswith("/"):
            return value
        for _, target, _ in mounts(definition):
            if value == target or value.startswith(target.rstrip("/") + "/") or target.startswith(value + "/"):
                return str(self.container_root(service)) + value
        return value

    def address(self, value: str) -> str:
        for compose_address, port in self.ports.items():
            value = value.replace(compose_address, f"127.0.0.1:{port}")
        return value.replace("replicaSet=rs0", "directConnection=true")

    def environment(self, service: str, definition: Json) -> dict[str, str]:
        env = dict(image_environment())
        for name, value in service_env(definition).items():
            env[name] = self.address(self.path(service, value, definition))
        for name, container_path in SCRIPT_PATHS.get(service, {}).items():
            env[name] = str(self.container_root(service)) + container_path  # inside the container, always
        if env.get("RABBITMQ_HOST") == "rabbitmq":
            env["RABBITMQ_HOST"] = "127.0.0.1"
        if "RABBITMQ_USERNAME" in env or service == "secrets-init":
            env["RABBITMQ_VHOST"] = self.vhost
        if "RABBITMQ_USERNAME" in env:
            env["RABBITMQ_USERNAME"] = self.user(env["RABBITMQ_USERNAME"])
        if "HTTP_PORT" in env:
            env["HTTP_PORT"] = str(self.ports[f"{service}:{env['HTTP_PORT']}"])
        return env

    def command(self, service: str, words: list[str], definition: Json) -> list[str]:
        scripts = ops_scripts()
        local = [sys.executable if word == "python" else str(scripts.get(word, word)) for word in words]
        return [self.path(service, word, definition) for word in local]


class TelegramLike(FakeTelegram):
    """Telegram as a deployment meets it: setWebhook wants https on one of its ports; updates go over TLS to the
    public address, trusting exactly the certificate uploaded with setWebhook (or a publicly trusted one, which
    this machine has none of), checked against the address in the URL. ``routes`` is the internet: the public
    address -> where nginx listens here (Docker's port publishing); with several, deliveries go to each in turn."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.certificate: bytes | None = None
        self.routes: dict[tuple[str, int], list[tuple[str, int, bool]]] = {}
        self._turn = 0
        self._client: aiohttp.ClientSession | None = None

    async def _m_setWebhook(self, params: Json, files: dict[str, bytes]) -> tuple[Any, None]:
        url = urlsplit(params["url"])
        if url.scheme != "https" or (url.port or 443) not in (443, 80, 88, 8443):
            raise _ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        attached = params.get("certificate", "").removeprefix("attach://")  # aiogram uploads it as a named part
        self.certificate = files.get(attached)
        return await super()._m_setWebhook(params, files)

    def _target(self, url: str) -> tuple[str, str, ssl.SSLContext | bool]:
        parts = urlsplit(url)
        targets = self.routes[(parts.hostname or "", parts.port or 443)]
        host, port, tls = targets[self._turn % len(targets)]
        self._turn += 1
        if not tls:
            return f"http://{host}:{port}{parts.path}", "", False
        context = ssl.create_default_context(cadata=self.certificate.decode() if self.certificate else None)
        return f"https://{host}:{port}{parts.path}", parts.hostname or "", context

    async def _post(self, webhook: Webhook, update: Json) -> bool:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {SECRET_HEADER: webhook.secret} if webhook.secret else {}
        url, hostname, context = self._target(webhook.url)
        try:
            async with self._client.post(
                url, json=update, headers=headers, ssl=context, server_hostname=hostname or None
            ) as response:
                self.deliveries.append(response.status)
                if response.status == 200 and response.content_type.startswith("multipart/"):
                    await self._answer_in_response(response)
                else:
                    await response.read()
                return response.status == 200
        except (aiohttp.ClientError, ssl.SSLError):
            self.deliveries.append(0)
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


@dataclass
class Process(Service):
    """A service's process with the environment it was given (its healthcheck runs in the same one)."""

    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Deployment:
    """The running system, as compose would have it, and the walk that started it."""

    site: SiteMapping
    definition: Json
    telegram: TelegramLike
    dns: FakeDns
    edge_ports: EdgePorts
    walk: list[tuple[str, str]] = field(default_factory=list)  # (service, what happened)
    processes: dict[str, Process] = field(default_factory=dict)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mongo_port: int = 0
    redis_port: int = 0

    def service(self, name: str) -> Json:
        return dict(self.definition["services"][name])

    def env(self, name: str) -> dict[str, str]:
        return self.site.environment(name, self.service(name))

    def secret(self, service: str, name: str) -> str:
        return (self.site.volume(f"secrets-{service}") / name).read_text()

    @property
    def public_url(self) -> str:
        return OPERATOR_ENV["PUBLIC_BASE_URL"]

    def mongo_url(self, user: str, password: str) -> str:
        return f"mongodb://{user}:{password}@127.0.0.1:{self.mongo_port}/?directConnection=true&authSource=admin"

    async def start(
        self, name: str, env: Mapping[str, str] | None = None, label: str | None = None, hostname: str | None = None
    ) -> Process:
        """Start one of our services (or, with ``label``, another replica of it) and wait for its healthcheck.
        ``hostname``: in a host-name namespace of its own, as another container is (``unshare --uts``)."""
        definition = self.service(name)
        environment = dict(env or self.env(name))
        command = self.site.command(name, list(definition["command"]), definition)
        if hostname is not None:
            command = ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh", *command]
        log = self.site.root / "logs" / f"{label or name}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=environment, stdout=output, stderr=asyncio.subprocess.STDOUT
            )
        started = Process(label or name, process, log, environment)
        self.processes[label or name] = started
        if definition.get("restart") == "no":
            code = await process.wait()
            assert code == 0, f"{name} exited {code}:\n{started.output()}"
        else:
            await self.healthy(started, definition)
        return started

    async def healthy(self, started: Process, definition: Json, timeout: float = 60) -> None:
        """Run the service's compose healthcheck (its command, in its environment) until it passes."""
        test = list(definition["healthcheck"]["test"])
        command = self.site.command(started.name, test[1:], definition)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if started.process.returncode is not None:
                raise AssertionError(f"{started.name} exited {started.process.returncode}:\n{started.output()}")
            probe = await asyncio.create_subprocess_exec(
                *command,
                env=started.env,
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            if await probe.wait() == 0:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"{started.name} never became healthy:\n{started.output()}")


# --- stand-ins for the other images ---------------------------------------------------------------------------


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120, check=False)


def import_definitions(deployment: Deployment) -> None:
    """What RabbitMQ does at boot with ``definitions.local.path``, on the shared broker: vhost and users renamed."""
    site = deployment.site
    definitions = json.loads(deployment.secret("rabbitmq", "definitions.json"))
    for user in definitions["users"]:
        user["name"] = site.user(user["name"])
    for permission in definitions["permissions"]:
        permission["user"] = site.user(permission["user"])
    renamed = site.root / "definitions.json"
    renamed.write_text(json.dumps(definitions))
    result = rabbitmqctl("import_definitions", str(renamed))
    assert result.returncode == 0, result.stderr


def forget_rabbitmq(site: SiteMapping) -> None:
    for name in gs.RABBITMQ_USERS.values():
        rabbitmqctl("delete_user", site.user(name))
    rabbitmqctl("delete_vhost", site.vhost)


def start_server(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)


async def wait_port(port: int, server: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"{what} exited with {server.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"{what} did not listen on {port}")


async def start_mongo(deployment: Deployment) -> None:
    """The mongo image's first start: root user from MONGO_INITDB_ROOT_*, then the server with access control."""
    env = service_env(deployment.service("mongo"))
    password_file = deployment.site.path("mongo", env["MONGO_INITDB_ROOT_PASSWORD_FILE"], deployment.service("mongo"))
    storage = deployment.site.volume("mongo-data")
    args = [
        str(VENV_BIN / "secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(deployment.mongo_port),
        "--storage-path",
        str(storage),
        "--log-level",
        "WARNING",
    ]
    log = deployment.site.root / "logs" / "mongo.log"
    server = start_server(args, log)
    await wait_port(deployment.mongo_port, server, "SecantusDB")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{deployment.mongo_port}/?directConnection=true"
    )
    try:
        await client.admin.command(
            "createUser", env["MONGO_INITDB_ROOT_USERNAME"], pwd=Path(password_file).read_text(), roles=["root"]
        )
    finally:
        await client.close()
    stop_process(server)
    server = start_server(args + ["--auth"], log)
    deployment.servers.append(server)
    await wait_port(deployment.mongo_port, server, "SecantusDB with --auth")


async def start_redis(deployment: Deployment) -> None:
    """compose's command line for redis, run by this machine's redis-server on a port of its own."""
    definition = deployment.service("redis")
    command = deployment.site.command("redis", list(definition["command"]), definition)
    args = command + [
        "--port",
        str(deployment.redis_port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(deployment.site.volume("redis-data")),
        "--daemonize",
        "no",
    ]
    server = start_server(args, deployment.site.root / "logs" / "redis.log")
    deployment.servers.append(server)
    await wait_port(deployment.redis_port, server, "redis-server")
    probe = definition["healthcheck"]["test"][1].replace("redis-cli", f"redis-cli -p {deployment.redis_port}")
    assert subprocess.run(["sh", "-c", probe], timeout=10, check=False).returncode == 0, "redis healthcheck"


async def start_s3(deployment: Deployment) -> None:
    port = deployment.site.ports["s3:8333"]
    server = start_server(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], deployment.site.root / "logs" / "s3.log"
    )
    deployment.servers.append(server)
    await wait_port(port, server, "moto_server")


@contextlib.contextmanager
def nginx(deployment: Deployment) -> Iterator[None]:
    """infra/nginx/nginx.conf with its start-up step, the tls volume's certificate, names through the test's DNS."""
    env = service_env(deployment.service("nginx"))
    prefix = deployment.site.root / "nginx"
    prefix.mkdir(exist_ok=True)
    (prefix / "conf.d").mkdir(exist_ok=True)
    configure = subprocess.run(
        ["sh", str(NGINX_ENTRYPOINT), "configure"],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DOCVAULT_NGINX_CONF_DIR": str(prefix / "conf.d"),
            "TRUSTED_PROXIES": env["TRUSTED_PROXIES"],
        },
        check=False,
    )
    assert configure.returncode == 0, configure.stderr
    with running_nginx(
        prefix,
        deployment.edge_ports,
        tls_dir=deployment.site.volume("tls"),
        acme_dir=deployment.site.volume("acme-webroot"),
    ):
        yield


def certbot_round(deployment: Deployment) -> list[str]:
    """One round of the certbot service with a stand-in ``certbot``; the calls it made."""
    bin_dir = deployment.site.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "certbot").write_text(f'#!/bin/sh\necho "$@" >> "{bin_dir}/certbot.calls"\n')
    (bin_dir / "certbot").chmod(0o755)
    definition = deployment.service("certbot")
    env = {
        **deployment.site.environment("certbot", definition),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "TLS_DIR": deployment.site.path("certbot", "/var/lib/docvault/tls", definition),
    }
    script = deployment.site.path("certbot", definition["entrypoint"][1], definition)
    result = subprocess.run(["sh", script, "once"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    calls = bin_dir / "certbot.calls"
    return calls.read_text().splitlines() if calls.exists() else []


# --- the walk -------------------------------------------------------------------------------------------------


def allocate(site: SiteMapping, definition: Json) -> None:
    """A loopback port for every ``service:port`` the services name."""
    for name, service in definition["services"].items():
        env = service_env(service)
        if "HTTP_PORT" in env:
            site.ports[f"{name}:{env['HTTP_PORT']}"] = free_port()
    for address in ("mongo:27017", "redis:6379", "s3:8333", "nginx:8000"):
        site.ports[address] = free_port()


async def walk(deployment: Deployment, stack: contextlib.ExitStack) -> None:
    """Every service in compose's start order: ours as processes, the others as their stand-ins."""
    services = deployment.definition["services"]
    for name in topological(services):
        deployment.site.mount(name, services[name])
        if name in NOT_STARTED:
            deployment.walk.append((name, "not started"))
        elif "build" in services[name]:
            await deployment.start(name)
            deployment.walk.append((name, "completed" if services[name].get("restart") == "no" else "healthy"))
        else:
            await start_stand_in(deployment, name, stack)
            deployment.walk.append((name, "healthy"))


async def start_stand_in(deployment: Deployment, name: str, stack: contextlib.ExitStack) -> None:
    if name == "rabbitmq":
        await asyncio.to_thread(import_definitions, deployment)
    elif name == "mongo":
        await start_mongo(deployment)
    elif name == "redis":
        await start_redis(deployment)
    elif name == "s3":
        await start_s3(deployment)
    elif name == "nginx":
        stack.enter_context(nginx(deployment))
    elif name == "certbot":
        assert certbot_round(deployment) == [], "a bare-IP deployment asks Let's Encrypt for nothing"
    else:
        raise AssertionError(f"no stand-in for {name}")


@contextlib.asynccontextmanager
async def deployed(base: Path | None = None) -> AsyncIterator[Deployment]:
    """The whole compose file started here, stopped and cleaned up afterwards."""
    root = Path(tempfile.mkdtemp(prefix="docvault-deployment-", dir=base))
    root.chmod(0o755)
    site = SiteMapping(root)
    telegram = TelegramLike(BOT_TOKEN)
    runner, telegram_url = await telegram.start()
    definition = compose({**OPERATOR_ENV, "TELEGRAM_API_URL": telegram_url})
    allocate(site, definition)
    dns = FakeDns()
    dns.addresses.update(api=["127.0.0.1"], bot=["127.0.0.1"])
    edge = EdgePorts(
        free_port(),
        free_port(),
        site.ports["nginx:8000"],
        dns.port,
        {"api": site.ports["api:8000"], "bot": site.ports["bot:8080"]},
    )
    deployment = Deployment(
        site, definition, telegram, dns, edge, mongo_port=site.ports["mongo:27017"], redis_port=site.ports["redis:6379"]
    )
    telegram.routes[(PUBLIC_HOST, PUBLIC_PORT)] = [("127.0.0.1", edge.https, True)]
    try:
        with contextlib.ExitStack() as stack:
            try:
                await walk(deployment, stack)
                yield deployment
            finally:
                for process in reversed(list(deployment.processes.values())):
                    await process.stop()
    finally:
        for server in deployment.servers:
            stop_process(server)
        await telegram.close()
        await runner.cleanup()
        dns.close()
        await asyncio.to_thread(forget_rabbitmq, site)
        if not os.environ.get("KEEP_DEPLOYMENT"):
            shutil.rmtree(root, ignore_errors=True)


def read_as(uid: int, gid: int, path: Path) -> bool:
    """Whether a process of ``uid``/``gid`` (no other groups) can read ``path``."""

    def become() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    result = subprocess.run(["cat", str(path)], preexec_fn=become, capture_output=True, timeout=10, check=False)
    return result.returncode == 0
