"""Keep DocVault's secrets and hand each container only the ones it uses (compose's one-shot ``secrets-init``).

Each secret is, in this order: the value given in the environment (from .env), the value already stored (kept
across restarts and upgrades; an installation from before per-service secrets is read from its old
``docvault.env``), or a new random one. ``BOT_TOKEN`` is never generated: it must come from .env.

The store (``DOCVAULT_SECRETS_DIR``, the volume only this step mounts) holds one file per secret. Each service
then gets its own volume under ``DOCVAULT_DELIVERY_DIR/<service>``, mounted read-only at /run/docvault/secrets
in that service alone, with only its files, each mode 0400 and owned by the user the service runs as. A file
is named after the variable the service reads (``RABBITMQ_PASSWORD`` holds the bot's own broker password in
the bot's volume and the processors' in theirs); the servers get what they load themselves: RabbitMQ its
definitions (users as salted hashes, permissions per stream), Redis its ACL file (hashed passwords), SeaweedFS
its S3 identities, MongoDB its keyfile and root password.

Usage: ``python generate_secrets.py`` (run as root: it sets the owners). Prints which secrets were generated,
kept or taken from the environment -- never their values. Exit 2 on a bad value, 1 when a file cannot be
written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STORE_DIR = "/var/lib/docvault/secrets"
DELIVERY_DIR = "/var/lib/docvault/deliver"
LEGACY_FILE = "docvault.env"  # the single file of the releases before per-service secrets

# Names of the users DocVault creates in its servers (docker-compose.yml passes the same names to the services).
RABBITMQ_USERS = {"admin": "docvault-admin", "bot": "docvault-bot", "processors": "docvault-processors"}
MONGO_USERS = {"root": "docvault-root", "api": "docvault-api", "processors": "docvault-processors"}
REDIS_USER = "docvault-bot"
S3_KEYS = {"admin": "docvault-admin", "api": "docvault-api"}
EVENTS_STREAM = "docvault.events"  # contracts/streams.py (tests/infra checks they agree)
DEAD_LETTER_STREAM = "docvault.events.dlq"

# Every secret; BOT_TOKEN has no generator: it comes from @BotFather through .env.
GENERATED = (
    "API_SERVICE_TOKEN",
    "LINK_SIGNING_KEY",
    "WEBHOOK_SECRET",
    "MASTER_KEYS",
    "RABBITMQ_ADMIN_PASSWORD",
    "RABBITMQ_BOT_PASSWORD",
    "RABBITMQ_PROCESSORS_PASSWORD",
    "MONGO_ROOT_PASSWORD",
    "MONGO_API_PASSWORD",
    "MONGO_PROCESSORS_PASSWORD",
    "MONGO_KEYFILE",
    "REDIS_BOT_PASSWORD",
    "S3_ADMIN_SECRET_KEY",
    "S3_API_SECRET_KEY",
    "GRAFANA_ADMIN_PASSWORD",
)
EXTERNAL = ("BOT_TOKEN",)
SECRET_NAMES = EXTERNAL + GENERATED
# Every variable this script reads (tests/infra checks that compose gives it nothing else).
ENVIRONMENT = SECRET_NAMES + (
    "DOCVAULT_SECRETS_DIR",
    "DOCVAULT_DELIVERY_DIR",
    "RABBITMQ_VHOST",
    "REDIS_PREFIX",
    "S3_BUCKET",
)

Values = Mapping[str, str]


class SecretError(ValueError):
    """A secret value that cannot be stored safely, or one that is missing."""


def new_secret() -> str:
    """256 random bits, URL-safe (letters, digits, '-' and '_'): valid for Telegram's secret_token too."""
    return secrets.token_urlsafe(32)


def new_keyfile() -> str:
    """A MongoDB replica-set keyfile: 756 base64 characters (the maximum mongod accepts is 1024)."""
    return base64.b64encode(secrets.token_bytes(567)).decode("ascii")


def new_master_keyring() -> str:
    """A master keyring of one key, as service_kit/crypto.py's MasterKeyring reads it: ``id:base64url(32 bytes)``.
    (This script runs without the project's packages, so it writes the format itself.)"""
    return "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


GENERATORS: dict[str, Callable[[], str]] = {name: new_secret for name in GENERATED} | {
    "MONGO_KEYFILE": new_keyfile,
    "MASTER_KEYS": new_master_keyring,
}


# --- where each secret goes -----------------------------------------------------------------------------------


def rabbitmq_password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password)), 4-byte salt."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode("ascii")


def matches_rabbitmq_hash(password: str, stored: str) -> bool:
    try:
        raw = base64.b64decode(stored, validate=True)
    except ValueError:
        return False
    return len(raw) == 36 and secrets.compare_digest(rabbitmq_password_hash(password, raw[:4]), stored)


def stream_pattern(*streams: str) -> str:
    return "^(" + "|".join(re.escape(stream) for stream in streams) + ")$"


def rabbitmq_definitions(values: Values, vhost: str, previous: Mapping[str, str]) -> str:
    """Users (salted hashes; an unchanged password keeps its hash, so the file only changes with a password)
    and permissions: the bot may only write the event stream; the processors create both streams, read both and
    write the dead letters; the admin is for the management UI."""

    def user(role: str, secret: str, tags: list[str]) -> dict[str, object]:
        name, password = RABBITMQ_USERS[role], values[secret]
        known = previous.get(name, "")
        hashed = (
            known
            if matches_rabbitmq_hash(password, known)
            else rabbitmq_password_hash(password, secrets.token_bytes(4))
        )
        return {
            "name": name,
            "password_hash": hashed,
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": tags,
            "limits": {},
        }

    nothing = "^$"
    both = stream_pattern(EVENTS_STREAM, DEAD_LETTER_STREAM)
    definitions = {
        "users": [
            user("admin", "RABBITMQ_ADMIN_PASSWORD", ["administrator"]),
            user("bot", "RABBITMQ_BOT_PASSWORD", []),
            user("processors", "RABBITMQ_PROCESSORS_PASSWORD", []),
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": RABBITMQ_USERS["admin"], "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"},
            {
                "user": RABBITMQ_USERS["bot"],
                "vhost": vhost,
                "configure": nothing,
                "write": stream_pattern(EVENTS_STREAM),
                "read": nothing,
            },
            {
                "user": RABBITMQ_USERS["processors"],
                "vhost": vhost,
                "configure": both,
                "write": stream_pattern(DEAD_LETTER_STREAM),
                "read": both,
            },
        ],
    }
    return json.dumps(definitions, indent=2) + "\n"


def previous_rabbitmq_hashes(path: Path) -> dict[str, str]:
    try:
        users = json.loads(path.read_text(encoding="utf-8")).get("users", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(u.get("name")): str(u.get("password_hash")) for u in users if isinstance(u, dict)}


def redis_acl(values: Values, key_prefix: str) -> str:
    """No default user; the bot only under its key prefix and without administrative commands; a healthcheck
    user that can do nothing but PING (it needs no password: it learns nothing)."""
    digest = hashlib.sha256(values["REDIS_BOT_PASSWORD"].encode("utf-8")).hexdigest()
    return (
        "user default off\n"
        "user healthcheck on nopass resetkeys resetchannels -@all +ping\n"
        f"user {REDIS_USER} on #{digest} resetkeys ~{key_prefix}:* resetchannels -@all +@all -@admin -@dangerous\n"
    )


def s3_identities(values: Values, bucket: str) -> str:
    """SeaweedFS identities: s3-init may create buckets; the API may read, write and list its own bucket only."""
    identities = [
        {
            "name": S3_KEYS["admin"],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": S3_KEYS["admin"], "secretKey": values["S3_ADMIN_SECRET_KEY"]}],
        },
        {
            "name": S3_KEYS["api"],
            "actions": [f"{action}:{bucket}" for action in ("Read", "Write", "List", "Tagging")],
            "credentials": [{"accessKey": S3_KEYS["api"], "secretKey": values["S3_API_SECRET_KEY"]}],
        },
    ]
    return json.dumps({"identities": identities}, indent=2) + "\n"


@dataclass(frozen=True)
class Recipient:
    """One service's volume: the user it runs as and its files (file name -> content)."""

    service: str
    uid: int
    gid: int
    files: Callable[[Values, "Context"], dict[str, str]]


@dataclass(frozen=True)
class Context:
    """What the derived files depend on besides the secrets."""

    rabbitmq_vhost: str = "/"
    redis_prefix: str = "docvault"
    s3_bucket: str = "docvault"
    previous_rabbitmq: Mapping[str, str] | None = None


def _copy(**names: str) -> Callable[[Values, Context], dict[str, str]]:
    """Files named after the variable the service reads, holding the secret named by the value."""
    return lambda values, _: {file_name: values[secret] for file_name, secret in names.items()}


APP_UID = 10001  # the DocVault image's user (Dockerfile)
RECIPIENTS = (
    Recipient(
        "bot",
        APP_UID,
        APP_UID,
        _copy(
            BOT_TOKEN="BOT_TOKEN",
            WEBHOOK_SECRET="WEBHOOK_SECRET",
            API_SERVICE_TOKEN="API_SERVICE_TOKEN",
            RABBITMQ_PASSWORD="RABBITMQ_BOT_PASSWORD",
            REDIS_PASSWORD="REDIS_BOT_PASSWORD",
        ),
    ),
    Recipient(
        "api",
        APP_UID,
        APP_UID,
        _copy(
            API_SERVICE_TOKEN="API_SERVICE_TOKEN",
            LINK_SIGNING_KEY="LINK_SIGNING_KEY",
            MASTER_KEYS="MASTER_KEYS",
            MONGO_PASSWORD="MONGO_API_PASSWORD",
            S3_SECRET_KEY="S3_API_SECRET_KEY",
        ),
    ),
    Recipient(
        "processors",
        APP_UID,
        APP_UID,
        _copy(
            RABBITMQ_PASSWORD="RABBITMQ_PROCESSORS_PASSWORD",
            MASTER_KEYS="MASTER_KEYS",
            MONGO_PASSWORD="MONGO_PROCESSORS_PASSWORD",
        ),
    ),
    Recipient("s3-init", APP_UID, APP_UID, _copy(S3_SECRET_KEY="S3_ADMIN_SECRET_KEY")),
    Recipient(
        "mongo-init",
        APP_UID,
        APP_UID,
        _copy(
            MONGO_PASSWORD="MONGO_ROOT_PASSWORD",
            MONGO_API_PASSWORD="MONGO_API_PASSWORD",
            MONGO_PROCESSORS_PASSWORD="MONGO_PROCESSORS_PASSWORD",
        ),
    ),
    # The official images' users: mongodb and rabbitmq 999:999, redis 999:1000, SeaweedFS's seaweed 1000:1000,
    # grafana 472:0.
    Recipient("mongo", 999, 999, _copy(MONGO_ROOT_PASSWORD="MONGO_ROOT_PASSWORD", MONGO_KEYFILE="MONGO_KEYFILE")),
    Recipient(
        "rabbitmq",
        999,
        999,
        lambda values, context: {
            "definitions.json": rabbitmq_definitions(values, context.rabbitmq_vhost, context.previous_rabbitmq or {})
        },
    ),
    Recipient("redis", 999, 1000, lambda values, context: {"users.acl": redis_acl(values, context.redis_prefix)}),
    Recipient("s3", 1000, 1000, lambda values, context: {"s3.json": s3_identities(values, context.s3_bucket)}),
    Recipient("grafana", 472, 0, _copy(GRAFANA_ADMIN_PASSWORD="GRAFANA_ADMIN_PASSWORD")),
)


# --- resolving and writing ------------------------------------------------------------------------------------


def read_store(store: Path) -> dict[str, str]:
    """The stored secrets: one file per name, and an old ``docvault.env`` for names not stored yet."""
    stored = read_legacy(store / LEGACY_FILE)
    for name in SECRET_NAMES:
        path = store / name
        if path.is_file():
            stored[name] = path.read_text(encoding="utf-8")
    return stored


def read_legacy(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of the single shell-quoted file older releases wrote (missing file: nothing)."""
    if not path.is_file():
        return {}
    stored: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, quoted = line.partition("=")
        if sep and name in SECRET_NAMES:
            words = shlex.split(quoted)
            stored[name] = words[0] if words else ""
    return stored


def resolve(environ: Mapping[str, str], stored: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The value of every secret and where it came from ("environment", "kept" or "generated")."""
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for name in SECRET_NAMES:
        if environ.get(name):
            values[name], origins[name] = environ[name], "environment"
        elif stored.get(name):
            values[name], origins[name] = stored[name], "kept"
        elif name in GENERATORS:
            values[name], origins[name] = GENERATORS[name](), "generated"
        else:
            raise SecretError(f"{name} is required (set it in .env)")
        if any(char in values[name] for char in "\r\n\0"):
            raise SecretError(f"{name} must be a single line without NUL characters")
    return values, origins


def write_file(path: Path, content: str, uid: int, gid: int) -> None:
    """Replace ``path`` atomically with a file only ``uid`` may read (mode 0400)."""
    draft = path.with_name(f".{path.name}.tmp")
    draft.unlink(missing_ok=True)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(content)
    os.chown(draft, uid, gid)
    os.replace(draft, path)


def deliver(directory: Path, files: Mapping[str, str], uid: int, gid: int) -> None:
    """Write ``files`` into one service's volume and remove anything else found there (a stale secret)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        write_file(directory / name, content, uid, gid)
    for path in directory.iterdir():
        if path.name not in files:
            path.unlink()
    os.chown(directory, uid, gid)
    directory.chmod(0o500)


def context_from(environ: Mapping[str, str], delivery: Path) -> Context:
    return Context(
        rabbitmq_vhost=environ.get("RABBITMQ_VHOST") or "/",
        redis_prefix=environ.get("REDIS_PREFIX") or "docvault",
        s3_bucket=environ.get("S3_BUCKET") or "docvault",
        previous_rabbitmq=previous_rabbitmq_hashes(delivery / "rabbitmq" / "definitions.json"),
    )


def main(argv: Sequence[str]) -> int:
    store = Path(os.environ.get("DOCVAULT_SECRETS_DIR", STORE_DIR))
    delivery = Path(os.environ.get("DOCVAULT_DELIVERY_DIR", DELIVERY_DIR))
    try:
        values, origins = resolve(os.environ, read_store(store))
    except SecretError as error:
        print(f"secrets-init: error: {error}", file=sys.stderr)
        return 2
    try:
        store.mkdir(parents=True, exist_ok=True)
        for name, value in values.items():
            write_file(store / name, value, os.getuid(), os.getgid())
        context = context_from(os.environ, delivery)
        for recipient in RECIPIENTS:  # compose mounts each recipient's own volume at delivery/<service>
            deliver(delivery / recipient.service, recipient.files(values, context), recipient.uid, recipient.gid)
    except PermissionError as error:
        print(
            f"secrets-init: error: cannot write {error.filename} as uid {os.getuid()}: {error.strerror} "
            "(secrets-init runs as root to set each file's owner)",
            file=sys.stderr,
        )
        return 1
    for origin in ("environment", "kept", "generated"):
        names = [name for name in SECRET_NAMES if origins[name] == origin]
        if names:
            print(f"{origin}: {', '.join(names)}")
    print(f"delivered to: {', '.join(recipient.service for recipient in RECIPIENTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
