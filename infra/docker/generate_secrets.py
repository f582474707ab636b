"""Write DocVault's secrets once, into the file every service loads at start (compose's one-shot `secrets`).

Each secret is, in this order: the value given in the environment (from .env), the value already in the
file (kept across restarts and upgrades), or a new random one. So a fresh clone needs only BOT_TOKEN, and
no secret ever lives in the repository or the image. The file holds one shell-quoted ``NAME=value`` line per
secret; infra/docker/entrypoint.sh exports them before a service starts.

Usage: ``python generate_secrets.py [FILE]`` (default: $DOCVAULT_SECRETS_FILE or DEFAULT_FILE).
Prints which secrets were generated, kept or taken from the environment -- never their values.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_FILE = "/var/lib/docvault/secrets/docvault.env"

# Every secret a DocVault deployment needs; all are internal to the compose project except WEBHOOK_SECRET
# (sent to Telegram) and LINK_SIGNING_KEY (signs the public file links).
SECRET_NAMES = (
    "API_SERVICE_TOKEN",
    "LINK_SIGNING_KEY",
    "WEBHOOK_SECRET",
    "RABBITMQ_PASSWORD",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "GRAFANA_ADMIN_PASSWORD",
)


class SecretError(ValueError):
    """A secret value that cannot be stored safely (for example one with a line break)."""


def new_secret() -> str:
    """256 random bits, URL-safe (letters, digits, '-' and '_'): valid for Telegram's secret_token too."""
    return secrets.token_urlsafe(32)


def read_secrets(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path`` (missing file: nothing)."""
    if not path.exists():
        return {}
    stored: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, quoted = line.partition("=")
        if sep and name.isidentifier():
            words = shlex.split(quoted)
            stored[name] = words[0] if words else ""
    return stored


def resolve(
    names: Sequence[str], environ: Mapping[str, str], stored: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The value of every secret and where it came from ("environment", "kept" or "generated")."""
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for name in names:
        if environ.get(name):
            values[name], origins[name] = environ[name], "environment"
        elif stored.get(name):
            values[name], origins[name] = stored[name], "kept"
        else:
            values[name], origins[name] = new_secret(), "generated"
        if any(char in values[name] for char in "\r\n\0"):
            raise SecretError(f"{name} must be a single line without NUL characters")
    return values, origins


def write_secrets(path: Path, values: Mapping[str, str]) -> None:
    """Replace ``path`` atomically. Readable by the other containers that mount the volume (their users differ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.tmp")
    draft.write_text("".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items()), encoding="utf-8")
    draft.chmod(0o644)
    os.replace(draft, path)


def main(argv: Sequence[str]) -> int:
    path = Path(argv[0] if argv else os.environ.get("DOCVAULT_SECRETS_FILE", DEFAULT_FILE))
    try:
        values, origins = resolve(SECRET_NAMES, os.environ, read_secrets(path))
    except SecretError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        write_secrets(path, values)
    except PermissionError as error:
        print(f"error: cannot write {path} as uid {os.getuid()}: {error.strerror} (is the volume writable?)",
              file=sys.stderr)
        return 1
    for origin in ("environment", "kept", "generated"):
        names = [name for name in SECRET_NAMES if origins[name] == origin]
        if names:
            print(f"{origin}: {', '.join(names)}")
    print(f"secrets file: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
