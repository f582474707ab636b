"""Give nginx a certificate before it starts, chosen by ``PUBLIC_BASE_URL`` (compose's one-shot ``tls-init``).

* a domain (``https://docvault.example.org``): the publicly trusted certificate comes from Let's Encrypt through
  the ``certbot`` service (HTTP-01 on port 80, renewed automatically). Until it is there, nginx serves a
  placeholder self-signed certificate for the name, so that it can start; certbot replaces it.
* a bare public IP (``https://203.0.113.7:8443``): a self-signed certificate for that address, generated here
  with ``cryptography`` and kept until the address changes or it nears its end; the bot uploads it to Telegram
  with setWebhook(certificate=...), which makes Telegram trust exactly this certificate.
* empty (polling mode, no public door): a self-signed certificate for localhost, so that nginx starts.

Checks at start, each failure one line and exit 78: https, a port Telegram delivers to (443, 88 or 8443; 80 is
nginx's plain HTTP for ACME) equal to the published ``PUBLIC_HTTPS_PORT``, a host that is a domain name or an IP.

Writes into ``TLS_DIR`` (nginx's volume): ``fullchain.pem``, ``privkey.pem`` (0400) and ``acme-domain`` (the
name certbot must get a certificate for, or empty); into ``TLS_PUBLIC_DIR`` (the bot's volume): ``fullchain.pem``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

EXIT_CONFIG = 78
ENVIRONMENT = ("PUBLIC_BASE_URL", "PUBLIC_HTTPS_PORT", "TLS_DIR", "TLS_PUBLIC_DIR")  # every variable read here
TLS_DIR = "/var/lib/docvault/tls"
TLS_PUBLIC_DIR = "/var/lib/docvault/tls-public"
HTTPS_PORTS = (443, 88, 8443)  # Telegram's webhook ports, less 80 (nginx's plain HTTP for ACME challenges)
SELF_SIGNED_DAYS = 3650  # Telegram pins the uploaded certificate itself; the bot uploads it again at every start
PLACEHOLDER_DAYS = 30
RENEW_BEFORE = dt.timedelta(days=30)
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
Mode = Literal["acme", "self-signed", "local"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ConfigError(ValueError):
    """PUBLIC_BASE_URL cannot work as a Telegram webhook address."""


@dataclass(frozen=True)
class Plan:
    mode: Mode
    host: str

    @property
    def address(self) -> Address | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def plan(public_base_url: str, https_port: int) -> Plan:
    """Which certificate this deployment needs, or ``ConfigError`` saying what is wrong with the URL."""
    if not public_base_url:
        return Plan("local", "localhost")
    name = f"PUBLIC_BASE_URL={public_base_url!r}"
    try:
        parts = urlsplit(public_base_url)
        port = parts.port or 443
    except ValueError as error:
        raise ConfigError(f"{name} is not a URL ({error})") from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        raise ConfigError(f"{name}: Telegram delivers webhooks over https only (https://host[:port])")
    if port not in HTTPS_PORTS:
        raise ConfigError(f"{name}: port {port}: use 443, 88 or 8443 (Telegram's webhook ports; 80 serves ACME)")
    if port != https_port:
        raise ConfigError(f"{name}: port {port}, but nginx is published on PUBLIC_HTTPS_PORT={https_port}")
    candidate = Plan("self-signed", host)
    if candidate.address is not None:
        if not candidate.address.is_global:
            raise ConfigError(f"{name}: {host} is not a public address, Telegram cannot reach it")
        return candidate
    if not HOST_NAME.match(host):
        raise ConfigError(f"{name}: {host!r} is neither a domain name nor an IP address")
    return Plan("acme", host)


@dataclass(frozen=True)
class Certificate:
    """What matters about the certificate nginx has now."""

    dns_names: tuple[str, ...]
    addresses: tuple[str, ...]
    self_signed: bool
    expires: dt.datetime

    @classmethod
    def of(cls, pem: bytes) -> Certificate:
        cert = x509.load_pem_x509_certificate(pem)
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = tuple(names.get_values_for_type(x509.DNSName))
            ips = tuple(str(ip) for ip in names.get_values_for_type(x509.IPAddress))
        except x509.ExtensionNotFound:
            dns, ips = (), ()
        return cls(dns, ips, cert.issuer == cert.subject, cert.not_valid_after_utc)

    def covers(self, host: str) -> bool:
        return host in self.dns_names or host in self.addresses


def needs_new_certificate(current: Certificate | None, wanted: Plan, now: dt.datetime) -> bool:
    """Keep what serves this deployment; a domain's certificate (certbot's or the placeholder) is certbot's
    business once it names the domain."""
    if current is None or not current.covers(wanted.host):
        return True
    if wanted.mode == "acme":
        return False
    return current.expires - now < RENEW_BEFORE or (wanted.mode == "self-signed" and not current.self_signed)


def self_signed(host: str, address: Address | None, days: int, now: dt.datetime) -> tuple[bytes, bytes]:
    """An RSA-2048 certificate for ``host`` signed by its own key, shaped like Telegram's self-signed guide
    (``openssl req -x509``: CN = the host, CA:TRUE) plus the subjectAltName clients check. PEM cert and key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, host), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DocVault")]
    )
    alt: x509.GeneralName = x509.IPAddress(address) if address is not None else x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write(path: Path, data: bytes, mode: int) -> None:
    draft = path.with_name(f".{path.name}.tmp")
    draft.unlink(missing_ok=True)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(draft, path)


def read_current(tls_dir: Path) -> Certificate | None:
    try:
        return Certificate.of((tls_dir / "fullchain.pem").read_bytes())
    except (OSError, ValueError):
        return None


def ensure(wanted: Plan, tls_dir: Path, public_dir: Path, now: dt.datetime) -> str:
    """Make ``tls_dir`` serve ``wanted``; returns what was done, for the log line."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    action = "kept"
    if needs_new_certificate(read_current(tls_dir), wanted, now):
        days = PLACEHOLDER_DAYS if wanted.mode == "acme" else SELF_SIGNED_DAYS
        cert, key = self_signed(wanted.host, wanted.address, days, now)
        write(tls_dir / "privkey.pem", key, 0o400)
        write(tls_dir / "fullchain.pem", cert, 0o444)
        action = "placeholder written (certbot replaces it)" if wanted.mode == "acme" else "self-signed written"
    write(tls_dir / "acme-domain", (wanted.host if wanted.mode == "acme" else "").encode("ascii"), 0o444)
    public_dir.mkdir(parents=True, exist_ok=True)
    write(public_dir / "fullchain.pem", (tls_dir / "fullchain.pem").read_bytes(), 0o444)
    return action


def main() -> int:
    url = os.environ.get("PUBLIC_BASE_URL", "").strip()
    try:
        wanted = plan(url, int(os.environ.get("PUBLIC_HTTPS_PORT") or 443))
    except (ConfigError, ValueError) as error:
        print(f"tls-init: settings error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    tls_dir = Path(os.environ.get("TLS_DIR", TLS_DIR))
    action = ensure(wanted, tls_dir, Path(os.environ.get("TLS_PUBLIC_DIR", TLS_PUBLIC_DIR)), dt.datetime.now(dt.UTC))
    described = {
        "acme": "domain: publicly trusted certificate from Let's Encrypt (certbot)",
        "self-signed": "bare IP: self-signed certificate, uploaded to Telegram by the bot",
        "local": "no PUBLIC_BASE_URL: self-signed certificate for localhost (polling mode)",
    }[wanted.mode]
    print(f"tls-init: {wanted.host}: {described}; certificate {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
