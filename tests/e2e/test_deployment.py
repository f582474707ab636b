"""docker-compose.yml as operators run it, without a Docker engine (tests/e2e/deployment.py starts every container
of ours with compose's own command, environment and secrets, and stand-ins for the other images): the start order;
the HTTPS webhook with the uploaded certificate and a signed link through nginx; least privilege in every server and
on disk; settings errors; restore by rebuilding the read models from the stream; two bot replicas behind one webhook;
a standby processor taking over from a SIGKILLed active one (the seconds it took go to docs/operations.md)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, PyMongoError
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from bot.ui.i18n import Texts
from contracts.read_models import ERASURES_COLLECTION, read_model_database
from infra.docker import generate_secrets as gs
from service_kit.eventlog import EventLogUnavailable, RawPublisher, StartAt, StreamSubscriber
from service_kit.forgetting import MARKERS_COLLECTION, RECEIPTS_COLLECTION
from service_kit.keystore import KEYS_COLLECTION
from service_kit.settings import RabbitSettings
from tests.e2e.deployment import (
    PUBLIC_HOST,
    PUBLIC_PORT,
    Deployment,
    Process,
    TelegramLike,
    deployed,
    read_as,
    topological,
)
from tests.e2e.processes import Chat, text_of
from tests.ports import free_port

pytestmark = pytest.mark.integration
EN = Texts("en")
PDF = b"%PDF-1.7\n" + os.urandom(50_000)
KEYS_DATABASE = "docvault_keys"  # compose's MONGO_DATABASE (docvault) + "_keys": service_kit/keystore.py
TAKEOVER_REPORT = os.environ.get("TAKEOVER_REPORT")  # a file to write the measured takeover seconds into


@pytest.fixture(scope="module")
async def deployment() -> AsyncIterator[Deployment]:
    async with deployed() as running:
        yield running


async def add_document(person: Chat, name: str, content: bytes = PDF) -> str:
    await person.says("/start")
    await person.presses("Add document")
    await person.says("Passport")
    await person.says(name)
    return text_of(await person.sends_document(content, "passport.pdf"))


async def public_get(deployment: Deployment, url: str) -> tuple[int, bytes]:
    """A browser on the internet: the public address reaches nginx here; the certificate is the uploaded one."""
    parts = re.match(r"https://([^/:]+):(\d+)(/.*)", url)
    assert parts and (parts[1], int(parts[2])) == (PUBLIC_HOST, PUBLIC_PORT), url
    context = ssl.create_default_context(cadata=(deployment.telegram.certificate or b"").decode())
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"https://127.0.0.1:{deployment.edge_ports.https}{parts[3]}", ssl=context, server_hostname=PUBLIC_HOST
        ) as response:
            return response.status, await response.read()


def rabbit(deployment: Deployment, service: str, **changes: Any) -> RabbitSettings:
    env = deployment.env(service)
    settings = RabbitSettings(
        host="127.0.0.1",
        vhost=env["RABBITMQ_VHOST"],
        username=env["RABBITMQ_USERNAME"],
        password=deployment.secret(service, "RABBITMQ_PASSWORD"),
        confirm_timeout_seconds=2,
    )
    return settings.model_copy(update=changes)


Mongo = AsyncMongoClient[dict[str, Any]]


def mongo_as(deployment: Deployment, user: str, password: str) -> Mongo:
    return AsyncMongoClient(deployment.mongo_url(user, password), serverSelectionTimeoutMS=3000)


def mongo_root(deployment: Deployment) -> Mongo:
    return mongo_as(deployment, gs.MONGO_USERS["root"], deployment.secret("mongo", "MONGO_ROOT_PASSWORD"))


async def checkpoint(deployment: Deployment) -> int:
    client = mongo_root(deployment)
    try:
        found = await client[read_model_database("docvault", 1)]["processor_checkpoints"].find_one({})
    finally:
        await client.close()
    return -1 if found is None else int(found["offset"])


async def documents_of(deployment: Deployment, owner_id: int) -> int:
    client = mongo_root(deployment)
    try:
        return await client[read_model_database("docvault", 1)]["documents"].count_documents({"owner_id": owner_id})
    finally:
        await client.close()


async def run_once(
    deployment: Deployment, service: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """``docker compose run --rm <service> <args>``: the service's environment, another command."""
    process = await asyncio.create_subprocess_exec(
        *args,
        env=env or deployment.env(service),
        cwd=Path.cwd(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


# --- the start -------------------------------------------------------------------------------------------------


async def test_deployment_starts_every_container_in_compose_order_when_brought_up(deployment: Deployment) -> None:
    services = deployment.definition["services"]
    assert [name for name, _ in deployment.walk] == topological(services)
    for name, state in deployment.walk:
        expected = (
            "not started"
            if name in ("prometheus", "grafana")
            else "completed"
            if services[name].get("restart") == "no"
            else "healthy"
        )
        assert state == expected, name


async def test_webhook_is_registered_over_https_with_the_uploaded_certificate_when_the_address_is_a_bare_ip(
    deployment: Deployment,
) -> None:
    webhook = deployment.telegram.webhook
    assert webhook is not None and webhook.url == f"https://{PUBLIC_HOST}:{PUBLIC_PORT}/telegram/webhook"
    assert webhook.secret == deployment.secret("bot", "WEBHOOK_SECRET")
    assert deployment.telegram.certificate == (deployment.site.volume("tls-public") / "fullchain.pem").read_bytes()


async def test_person_saves_a_document_and_downloads_it_by_a_signed_link_through_nginx_over_tls(
    deployment: Deployment,
) -> None:
    ann = Chat(deployment.telegram, 9101)
    assert await add_document(ann, "Main passport") == EN("add.saved", name="Main passport", type="Passport")
    await ann.says("/documents")
    await ann.presses("Passport")
    await ann.presses("Main passport")
    linked = text_of(await ann.presses("Link"))
    url = linked.split("\n")[-1]
    assert url.startswith(f"{deployment.public_url}/v1/files/signed/")
    assert await public_get(deployment, url) == (200, PDF)
    assert deployment.telegram.deliveries and set(deployment.telegram.deliveries) == {200}  # every one over TLS


# --- least privilege ------------------------------------------------------------------------------------------


async def test_each_service_holds_only_its_secret_files_readable_by_its_own_user_when_deployed(
    deployment: Deployment,
) -> None:
    for recipient in gs.RECIPIENTS:
        directory = deployment.site.volume(f"secrets-{recipient.service}")
        files = sorted(path.name for path in directory.iterdir())
        assert files == sorted(
            recipient.files(
                gs.read_store(deployment.site.volume("secrets")), gs.Context(rabbitmq_vhost=deployment.site.vhost)
            )
        ), recipient.service
        sample = directory / files[0]
        assert read_as(recipient.uid, recipient.gid, sample), recipient.service
        other = 999 if recipient.uid != 999 else 10001
        assert not read_as(other, other, sample), f"uid {other} reads {recipient.service}'s {files[0]}"


async def test_no_secret_value_is_in_any_processes_environment_when_running(deployment: Deployment) -> None:
    values = [value for value in gs.read_store(deployment.site.volume("secrets")).values() if len(value) > 8]
    for process in deployment.processes.values():
        if process.process.returncode is None:
            environ = Path(f"/proc/{process.process.pid}/environ").read_bytes().decode(errors="replace")
            assert not any(value in environ for value in values), process.name


async def test_rabbitmq_lets_the_bot_only_append_events_and_the_processors_only_dead_letters_when_logged_in(
    deployment: Deployment,
) -> None:
    bot, processors = rabbit(deployment, "bot"), rabbit(deployment, "processors")

    async def appends(settings: RabbitSettings, stream: str) -> bool:
        publisher = RawPublisher(settings, stream, "deployment-test")
        try:
            await publisher.append([b"\x00not an event"])
        except EventLogUnavailable:
            return False
        finally:
            await publisher.close()
        return True

    async def reads(settings: RabbitSettings, stream: str) -> bool:
        subscriber = StreamSubscriber(settings, stream, lambda record: asyncio.sleep(0), "deployment-test")
        try:
            await subscriber.start(StartAt.first())
        except Exception:
            return False
        finally:
            await subscriber.close()
        return True

    assert not await appends(bot, bot.dead_letter_stream)
    assert not await reads(bot, bot.events_stream)
    assert not await appends(processors, processors.events_stream)
    assert await reads(processors, processors.events_stream)
    assert not await reads(bot.model_copy(update={"password": "wrong"}), bot.events_stream)


async def test_mongodb_gives_the_api_reads_only_and_refuses_strangers_when_logged_in(deployment: Deployment) -> None:
    database = read_model_database("docvault", 1)
    api = mongo_as(deployment, gs.MONGO_USERS["api"], deployment.secret("api", "MONGO_PASSWORD"))
    processors = mongo_as(deployment, gs.MONGO_USERS["processors"], deployment.secret("processors", "MONGO_PASSWORD"))
    stranger: Mongo = AsyncMongoClient(
        f"mongodb://127.0.0.1:{deployment.mongo_port}/?directConnection=true", serverSelectionTimeoutMS=3000
    )
    try:
        assert await api[database]["documents"].count_documents({}) >= 1
        with pytest.raises(OperationFailure, match="not authorized"):
            await api[database]["documents"].insert_one({"stolen": True})
        with pytest.raises(OperationFailure, match="not authorized"):
            await processors.admin.command("createUser", "intruder", pwd="x", roles=["root"])
        with pytest.raises(PyMongoError):
            await stranger[database]["documents"].find_one({})
    finally:
        for client in (api, processors, stranger):
            await client.close()


async def test_mongodb_lets_forget_and_purge_writers_write_only_their_keys_collections_when_logged_in(
    deployment: Deployment,
) -> None:
    """Forget and trash retention (docs/adr/0014) as deployed: the processors mark forgets in the keys database and
    queue erasure jobs in the read models; the API reads the jobs and writes only their receipts (and data keys)."""
    database = read_model_database("docvault", 1)
    api = mongo_as(deployment, gs.MONGO_USERS["api"], deployment.secret("api", "MONGO_PASSWORD"))
    processors = mongo_as(deployment, gs.MONGO_USERS["processors"], deployment.secret("processors", "MONGO_PASSWORD"))
    probe = {"_id": "deployment-test-rights", "owner_id": 0}
    try:
        marker = await processors[KEYS_DATABASE][MARKERS_COLLECTION].update_one(
            {"_id": probe["_id"]}, {"$max": {"through_offset": 0}}, upsert=True
        )
        assert marker.acknowledged
        await processors[database][ERASURES_COLLECTION].replace_one({"_id": probe["_id"]}, probe, upsert=True)
        assert await api[database][ERASURES_COLLECTION].find_one({"_id": probe["_id"]}) == probe
        await api[KEYS_DATABASE][RECEIPTS_COLLECTION].replace_one({"_id": probe["_id"]}, probe, upsert=True)
        with pytest.raises(OperationFailure, match="not authorized"):
            await api[database][ERASURES_COLLECTION].delete_one({"_id": probe["_id"]})
        with pytest.raises(OperationFailure, match="not authorized"):
            await api[database]["documents"].update_one({"_id": "x"}, {"$set": {"restorable_until": None}})
    finally:
        await api[KEYS_DATABASE][RECEIPTS_COLLECTION].delete_one({"_id": probe["_id"]})
        await processors[KEYS_DATABASE][MARKERS_COLLECTION].delete_one({"_id": probe["_id"]})
        await processors[database][ERASURES_COLLECTION].delete_one({"_id": probe["_id"]})
        for client in (api, processors):
            await client.close()


async def test_redis_refuses_strangers_and_keeps_the_bot_under_its_prefix_when_logged_in(
    deployment: Deployment,
) -> None:
    stranger = Redis(port=deployment.redis_port)
    bot = Redis(port=deployment.redis_port, username=gs.REDIS_USER, password=deployment.secret("bot", "REDIS_PASSWORD"))
    try:
        with pytest.raises((ResponseError, AuthenticationError), match="NOAUTH|authenticated"):
            await stranger.get("docvault:anything")
        assert await bot.set("docvault:deployment-test", "1") and await bot.delete("docvault:deployment-test")
        with pytest.raises(NoPermissionError):
            await bot.set("elsewhere:key", "1")
        with pytest.raises(NoPermissionError):
            await bot.flushall()
    finally:
        await stranger.aclose()
        await bot.aclose()


# --- settings errors ------------------------------------------------------------------------------------------


async def test_bot_stops_with_one_line_and_exit_78_when_a_setting_is_wrong(deployment: Deployment) -> None:
    env = {**deployment.env("bot"), "LOG_LEVEL": "verbose", "HTTP_PORT": str(free_port())}
    code, output = await run_once(deployment, "bot", sys.executable, "-m", "bot", env=env)
    assert (code, output.strip().splitlines()) == (
        78,
        ["bot: settings error: LOG_LEVEL='VERBOSE': Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"],
    )


async def test_bot_stops_with_one_line_and_exit_78_when_telegram_refuses_the_token(deployment: Deployment) -> None:
    revoked = TelegramLike("4242:another-token")  # Telegram knows the bot by another token now
    runner, url = await revoked.start()
    try:
        env = {**deployment.env("bot"), "TELEGRAM_API_URL": url, "HTTP_PORT": str(free_port())}
        code, output = await run_once(deployment, "bot", sys.executable, "-m", "bot", env=env)
    finally:
        await runner.cleanup()
    assert code == 78
    assert output.strip().splitlines()[-1] == (
        "bot: BOT_TOKEN: Telegram answered 'Unauthorized': the token is wrong or was revoked in @BotFather"
    )
    assert "Traceback" not in output


async def test_processor_stops_with_one_line_when_its_secret_file_is_missing(deployment: Deployment) -> None:
    env = {**deployment.env("processors"), "RABBITMQ_PASSWORD_FILE": "/run/docvault/secrets/missing"}
    code, output = await run_once(deployment, "processors", sys.executable, "-m", "stream_processors", "run", env=env)
    assert (code, output.strip().splitlines()) == (
        78,
        [
            "processor: settings error: RABBITMQ_PASSWORD_FILE=/run/docvault/secrets/missing: cannot read it "
            "(No such file or directory)"
        ],
    )


# --- restore --------------------------------------------------------------------------------------------------


async def test_read_models_are_restored_from_the_stream_when_mongodb_lost_them(deployment: Deployment) -> None:
    bob = Chat(deployment.telegram, 9102)
    assert await add_document(bob, "Restored passport") == EN("add.saved", name="Restored passport", type="Passport")
    await deployment.processes["processors"].stop()  # docker compose stop processors
    client = mongo_root(deployment)
    try:
        # The keys are not in the stream (docs/operations.md, backups): they come back from their backup first.
        keys = client[KEYS_DATABASE][KEYS_COLLECTION]
        backup = await keys.find().to_list(None)
        assert backup, "bob's data key should exist"
        for name in await client.list_database_names():
            if name.startswith("docvault"):
                await client.drop_database(name)  # MongoDB lost everything DocVault kept in it
        await keys.insert_many(backup)  # restore the keys database from its backup
    finally:
        await client.close()
    code, output = await run_once(
        deployment, "processors", sys.executable, "-m", "stream_processors", "rebuild", "--version", "1"
    )
    assert code == 0, output
    await deployment.start("processors")  # docker compose start processors
    await bob.says("/documents")
    await bob.presses("Passport")
    assert any("Restored passport" in text for text, _ in bob.buttons())


# --- scale-out ------------------------------------------------------------------------------------------------


def handled_by(process: Process) -> set[int]:
    """The update ids a bot replica handled (its "update handled" log lines)."""
    ids = set()
    for line in process.log_path.read_text(errors="replace").splitlines():
        if '"update handled"' in line:
            ids.add(int(json.loads(line)["update_id"]))
    return ids


async def test_two_bot_replicas_keep_one_persons_dialog_in_order_when_updates_alternate(
    deployment: Deployment,
) -> None:
    first = deployment.processes["bot"]
    port = free_port()
    second = await deployment.start("bot", {**deployment.env("bot"), "HTTP_PORT": str(port)}, label="bot-2")
    routes = deployment.telegram.routes
    public = (PUBLIC_HOST, PUBLIC_PORT)
    behind_nginx = routes[public]
    routes[public] = [("127.0.0.1", int(first.env["HTTP_PORT"]), False), ("127.0.0.1", port, False)]
    try:
        cleo = Chat(deployment.telegram, 9103)
        assert await add_document(cleo, "Cleo passport") == EN("add.saved", name="Cleo passport", type="Passport")
        steps = deployment.telegram.updates_of(9103)
        assert handled_by(first) & set(steps) and handled_by(second) & set(steps)  # both replicas took steps
        before = len(deployment.telegram.calls)
        deliveries = len(deployment.telegram.deliveries)
        await deployment.telegram.redeliver(steps[-1])  # Telegram retries the last step: the other replica gets it
        while len(deployment.telegram.deliveries) == deliveries:
            await asyncio.sleep(0.05)
        assert deployment.telegram.deliveries[-1] == 200
        assert [call for call in deployment.telegram.calls[before:] if cleo._for_me(call)] == []  # handled once
    finally:
        routes[public] = behind_nginx
        await second.stop()
        del deployment.processes["bot-2"]


async def test_bot_replicas_wait_for_each_other_on_one_person_when_isolation_is_in_redis(
    deployment: Deployment,
) -> None:
    dana = Chat(deployment.telegram, 9104)
    await dana.says("/start")
    redis = Redis(
        port=deployment.redis_port, username=gs.REDIS_USER, password=deployment.secret("bot", "REDIS_PASSWORD")
    )
    lock = f"docvault:fsm:{dana.user_id}:{dana.user_id}:lock"  # what another replica holds while handling
    try:
        assert await redis.set(lock, "other-replica", px=60_000, nx=True)
        mark = len(deployment.telegram.calls)
        await deployment.telegram.user_says(dana.user_id, "/help")
        await asyncio.sleep(1.5)
        assert [call for call in deployment.telegram.calls[mark:] if dana._for_me(call)] == []
        await redis.delete(lock)
        reply = await deployment.telegram.wait_for_call(dana._for_me, timeout=20, after=mark)
        assert "How it works" in text_of(reply)
    finally:
        await redis.delete(lock)
        await redis.aclose()


async def test_standby_processor_takes_over_when_the_active_one_is_killed(deployment: Deployment) -> None:
    active = deployment.processes["processors"]
    standby = await deployment.start(
        "processors",
        {**deployment.env("processors"), "HTTP_PORT": str(free_port())},
        label="processors-standby",
        hostname="processors-2",
    )  # healthy while waiting
    while "standby: lease held by another instance" not in standby.output():
        await asyncio.sleep(0.1)
    eve = Chat(deployment.telegram, 9105)
    assert await add_document(eve, "Before") == EN("add.saved", name="Before", type="Passport")
    # "Saved" may come before the processor applied the add: killed before that, the bot's next menu reads (which
    # wait to see the person's own last event) stall until the standby takes over, and the next add goes astray.
    while await documents_of(deployment, eve.user_id) < 1:
        await asyncio.sleep(0.1)
    before = await checkpoint(deployment)
    active.process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    await active.process.wait()
    # Events appended while no processor is active:
    assert await add_document(eve, "After", PDF + b"2") == EN("add.saved", name="After", type="Passport")
    while await checkpoint(deployment) <= before:
        assert time.monotonic() - killed_at < 60, standby.output()
        await asyncio.sleep(0.1)
    seconds = time.monotonic() - killed_at
    if TAKEOVER_REPORT:
        Path(TAKEOVER_REPORT).write_text(f"{seconds:.1f}\n")
    print(f"standby took over and committed {seconds:.1f} s after the SIGKILL")
    assert "lease taken" in standby.output()
    deployment.processes["processors"] = standby
    del deployment.processes["processors-standby"]
