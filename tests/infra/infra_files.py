"""Readers for the deployment files (compose, Dockerfile, Prometheus, Grafana) and small checks on them.

Everything here is pure file work, so the tests run without a Docker engine. Tools that must exist
(promtool, nginx) are found by ``require_binary``, which fails loudly: CI installs them with
scripts/install-system.sh.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
INFRA = ROOT / "infra"
PROMETHEUS_CONFIG = INFRA / "prometheus" / "prometheus.yml"
ALERT_RULES = INFRA / "prometheus" / "rules" / "docvault.yml"
DASHBOARDS = INFRA / "grafana" / "dashboards"
GRAFANA_PROVISIONING = INFRA / "grafana" / "provisioning"
NGINX_CONF = INFRA / "nginx" / "nginx.conf"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"

Json = dict[str, Any]

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; $$ is a literal dollar.
INTERPOLATION = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?$", re.DOTALL)


def require_binary(name: str) -> str:
    """The path of ``name``; fails the test (never skips) when it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise AssertionError(f"{name} is not installed: run scripts/install-system.sh (as root)")
    return found


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command with captured text output and a time limit."""
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, **kwargs)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_json(path: Path) -> Json:
    return cast(Json, json.loads(path.read_text(encoding="utf-8")))


# --- compose ------------------------------------------------------------------------------------------------


class Interpolation:
    """One ``${...}`` reference: the variable, its operator (``:-``, ``-``, ``:?``, ``?`` or none) and argument."""

    def __init__(self, text: str, name: str, op: str, arg: str) -> None:
        self.text, self.name, self.op, self.arg = text, name, op, arg

    @property
    def required(self) -> bool:
        return self.op in (":?", "?")

    @property
    def has_default(self) -> bool:
        return self.op in (":-", "-")


def interpolations(value: str) -> list[Interpolation]:
    """Every variable reference in one scalar; a bare ``$NAME`` or a malformed ``${...}`` gets op ``"bare"``."""
    found = []
    for match in INTERPOLATION.finditer(value):
        if match["escaped"]:
            continue
        if match["bare"]:
            found.append(Interpolation(match[0], match["bare"], "bare", ""))
            continue
        braced = BRACED.match(match["braced"])
        if braced is None or "$" in (braced["arg"] or ""):
            found.append(Interpolation(match[0], match["braced"], "bare", ""))
        else:
            found.append(Interpolation(match[0], braced["name"], braced["op"] or "", braced["arg"] or ""))
    return found


def scalars(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML document (keys are not interpolated by compose)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for child in node.values():
            yield from scalars(child)
    elif isinstance(node, list):
        for child in node:
            yield from scalars(child)


def interpolate(node: Any, environ: Mapping[str, str]) -> Any:
    """Apply compose's interpolation to every string value, the way `docker compose config` does."""
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            if match["escaped"]:
                return "$"
            reference = interpolations(match[0])[0]
            value = environ.get(reference.name)
            if reference.op == ":-" and not value or reference.op == "-" and value is None:
                return reference.arg
            if reference.required and (value is None or reference.op == ":?" and not value):
                raise KeyError(f"{reference.name}: {reference.arg}")
            return value or ""

        return INTERPOLATION.sub(substitute, node)
    if isinstance(node, Mapping):
        return {key: interpolate(child, environ) for key, child in node.items()}
    if isinstance(node, list):
        return [interpolate(child, environ) for child in node]
    return node


def raw_compose() -> Json:
    return cast(Json, load_yaml(COMPOSE_FILE))


def compose_references() -> list[Interpolation]:
    return [reference for value in scalars(raw_compose()) for reference in interpolations(value)]


def required_variables() -> set[str]:
    return {reference.name for reference in compose_references() if reference.required}


def compose(environ: Mapping[str, str] | None = None) -> Json:
    """The compose file as `docker compose config` would see it: required variables get a stand-in value."""
    values = {name: f"test-{name.lower()}" for name in required_variables()}
    values.update(environ or {})
    return cast(Json, interpolate(raw_compose(), values))


def services() -> dict[str, Json]:
    return cast(dict[str, Json], compose()["services"])


def service_env(service: Json) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): "" if value is None else str(value) for key, value in environment.items()}


def mounts(service: Json) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) of every short-syntax volume of a service."""
    found = []
    for volume in service.get("volumes", []):
        source, target, *options = str(volume).split(":")
        found.append((source, target, "ro" in options))
    return found


def mounted_in(volume: str) -> dict[str, tuple[str, bool]]:
    """Which services mount the named ``volume``, where and whether read-only."""
    return {
        name: (target, read_only)
        for name, service in services().items()
        for source, target, read_only in mounts(service)
        if source == volume
    }


# --- Dockerfile -----------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), " ".join(arguments.split())))
    return pairs


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (the part before the first FROM is dropped)."""
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in dockerfile_instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, arguments))
    return stages


# --- PromQL -----------------------------------------------------------------------------------------------------

# Words that are PromQL syntax, not metric names, when they stand without a following "(".
PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "le",
}
GRAFANA_VARIABLE = re.compile(r"\$(?:\{[^}]*\}|\w+)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords, labels and strings excluded)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = GRAFANA_VARIABLE.sub("", text)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = GROUPING.sub("", text)
    return {name for name, call in IDENTIFIER.findall(text) if not call and name not in PROMQL_WORDS}


def defined_metric_names() -> set[str]:
    """Every sample name the services export, from the one catalogue in service_kit/metrics.py."""
    from prometheus_client.metrics import MetricWrapperBase

    from service_kit import metrics

    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
    }
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def unknown_metric_names(exprs: list[str]) -> set[str]:
    """Names used in ``exprs`` that neither service_kit/metrics.py nor RabbitMQ's plugin nor Prometheus defines."""
    defined = defined_metric_names()
    used = set().union(*(metric_names(expr) for expr in exprs)) if exprs else set()
    return {name for name in used if name not in defined and not name.startswith("rabbitmq_") and name != "up"}


def alert_rules() -> list[Json]:
    groups = cast(Json, load_yaml(ALERT_RULES))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def dashboard_panels(dashboard: Json) -> list[Json]:
    """Every panel, including those nested in collapsed rows."""
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_exprs(dashboard: Json) -> list[str]:
    return [target["expr"] for panel in dashboard_panels(dashboard) for target in panel.get("targets", [])]
