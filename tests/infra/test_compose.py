"""docker-compose.yml: valid against the Compose Specification schema, and the checks `docker compose config`
would make plus our own rules (required variables, healthchecks behind depends_on, pinned images, no secrets)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the dev dependencies
import pytest

from tests.infra.infra_files import (
    ENV_EXAMPLE,
    ROOT,
    Json,
    compose,
    compose_references,
    interpolate,
    interpolations,
    load_json,
    raw_compose,
    required_variables,
    service_env,
    services,
)

SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
APP_SERVICES = {"api": "api", "processors": "stream_processors", "bot": "bot"}
ISSUE_SERVICES = {
    "rabbitmq",
    "mongo",
    "redis",
    "s3",
    "s3-init",
    "api",
    "processors",
    "bot",
    "nginx",
    "prometheus",
    "grafana",
    "secrets-init",
    "tls-init",
    "mongo-init",
    "certbot",
}
STATEFUL = {
    "rabbitmq": "/var/lib/rabbitmq",
    "mongo": "/data/db",
    "redis": "/data",
    "s3": "/data",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "secrets-init": "/var/lib/docvault/secrets",
    "certbot": "/etc/letsencrypt",
}
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|_KEY$|PRIVATE", re.IGNORECASE)
SECRET_FILES = "/run/docvault/secrets/"
# An access key id names an S3 identity (like a user name); its secret is S3_SECRET_KEY_FILE.
NOT_SECRET = {"S3_ACCESS_KEY"}
PINNED_TAG = re.compile(r"^[\w./-]+:(?!latest$)v?\d+\.\d+(\.\d+)?[\w.-]*(@sha256:[0-9a-f]{64})?$")


def schema_errors(document: Json) -> list[str]:
    validator = jsonschema.Draft201909Validator(load_json(SCHEMA))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def healthcheck_enabled(service: Json) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable", False)


def test_compose_file_matches_the_compose_specification_schema_when_interpolated() -> None:
    assert schema_errors(compose()) == []


def test_compose_schema_check_rejects_an_unknown_service_key_when_one_is_added() -> None:
    document = copy.deepcopy(compose())
    document["services"]["api"]["healthcheck"]["intervall"] = "10s"
    document["services"]["bot"]["imagee"] = "docvault:1.0.0"
    errors = schema_errors(document)
    assert any("intervall" in error for error in errors) and any("imagee" in error for error in errors)


def test_compose_variables_each_have_a_default_or_fail_fast_when_referenced() -> None:
    loose = [ref.text for ref in compose_references() if not (ref.has_default or ref.required)]
    assert loose == [], "use ${NAME:-default} or ${NAME:?message}: an unset variable must never become ''"
    messages = {ref.name: ref.arg for ref in compose_references() if ref.required}
    assert all(ref.op == ":?" for ref in compose_references() if ref.required), "use :? so that empty fails too"
    assert all(len(message) > 20 and ".env" in message for message in messages.values()), messages


def test_compose_requires_only_the_bot_token_when_secrets_are_generated() -> None:
    assert required_variables() == {"BOT_TOKEN"}
    with pytest.raises(KeyError, match="BOT_TOKEN"):
        interpolate(raw_compose(), {"BOT_TOKEN": ""})


def test_interpolation_parser_flags_bare_and_nested_references_when_present() -> None:
    found = interpolations("$HOME ${A:-x} ${B:?need B} $${C} ${D:-${E}}")
    assert [(ref.name, ref.op) for ref in found] == [("HOME", "bare"), ("A", ":-"), ("B", ":?"), ("D:-${E", "bare")]


def test_compose_has_every_service_of_the_issue_when_loaded() -> None:
    assert ISSUE_SERVICES <= set(services())


def test_compose_depends_on_waits_for_health_or_completion_when_services_start() -> None:
    all_services = services()
    for name, service in all_services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on syntax with a condition"
        for target, rule in depends_on.items():
            condition = rule["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), f"{name} -> {target}"
            if condition == "service_healthy":
                assert healthcheck_enabled(all_services[target]), f"{name} waits on {target}, which has no healthcheck"
            else:
                assert all_services[target].get("restart") == "no", f"{target} is waited for as a one-shot"


def test_compose_long_running_services_restart_and_report_health_when_up() -> None:
    for name, service in services().items():
        if service.get("restart") != "no":
            assert service.get("restart") == "unless-stopped", name
            assert healthcheck_enabled(service), f"{name} has no healthcheck"


def test_compose_stateful_services_keep_data_in_named_volumes_when_recreated() -> None:
    document = compose()
    for name, path in STATEFUL.items():
        mounts = [volume.split(":") for volume in services()[name].get("volumes", [])]
        named = [source for source, target, *_ in mounts if target == path and not source.startswith(".")]
        assert named and named[0] in document["volumes"], f"{name} keeps {path} outside a named volume"


def test_compose_images_are_pinned_when_pulled_or_built() -> None:
    for name, service in services().items():
        image = service.get("image", "")
        assert PINNED_TAG.match(image), f"{name}: pin an exact version, not {image!r}"


def test_compose_app_services_share_one_image_with_their_own_command_when_built() -> None:
    all_services = services()
    images = {all_services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name, module in APP_SERVICES.items():
        service = all_services[name]
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}
        assert service["command"][:3] == ["python", "-m", module]


def test_compose_holds_no_secret_literal_when_read() -> None:
    leaks = []
    for name, service in raw_compose()["services"].items():
        for key, value in service_env(service).items():
            if key.endswith("_FILE"):
                if not value.startswith(SECRET_FILES):
                    leaks.append(f"{name}.{key}")
            elif SECRET_NAME.search(key) and key not in NOT_SECRET:
                refs = interpolations(value)
                whole = len(refs) == 1 and refs[0].text == value
                if not (whole and (refs[0].required or refs[0].has_default and not refs[0].arg)):
                    leaks.append(f"{name}.{key}")
    assert leaks == [], "secrets come from .env (to secrets-init only) or from the files secrets-init writes"


def test_env_example_lists_every_compose_variable_with_secrets_left_empty_when_copied() -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    referenced = {ref.name for ref in compose_references()}
    assert referenced - set(example) == set()
    assert {name for name, value in example.items() if SECRET_NAME.search(name) and value} == set()
    for ref in compose_references():
        if ref.has_default and ref.name in example and example[ref.name]:
            assert example[ref.name] == ref.arg, f"{ref.name}: .env.example and the compose default disagree"


def test_compose_publishes_only_nginx_beyond_loopback_when_ports_are_mapped() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            if name != "nginx":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    assert sorted(str(port).split(":")[-1] for port in services()["nginx"]["ports"]) == ["443", "80"]


def test_compose_bind_mounts_point_at_files_in_the_repository_when_started() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
                assert volume.endswith(":ro"), f"{name} mounts {source} writable"


def test_compose_app_services_point_at_the_compose_services_when_configured() -> None:
    all_services = services()
    rabbit_hostname = all_services["rabbitmq"]["hostname"]
    for name in ("processors", "bot"):
        env = service_env(all_services[name])
        assert env["RABBITMQ_HOST"] == rabbit_hostname and env["RABBITMQ_STREAM_PORT"] == "5552"
    for name in ("processors", "api", "mongo-init"):
        url = service_env(all_services[name])["MONGO_URL"]
        assert "replicaSet=rs0" in url and "authSource=admin" in url and "@" not in url
    assert {service_env(all_services[name])["S3_ENDPOINT"] for name in ("api", "s3-init")} == {"s3:8333"}
    assert service_env(all_services["bot"])["API_BASE_URL"] == "http://nginx:8000"
    assert {service_env(all_services[name])["HTTP_PORT"] for name in APP_SERVICES} == {"8000", "8080", "8081"}


def test_compose_gives_the_webhook_and_the_links_one_public_address_when_configured() -> None:
    raw = raw_compose()["services"]
    for name, variable in (("bot", "WEBHOOK_BASE_URL"), ("api", "PUBLIC_BASE_URL"), ("tls-init", "PUBLIC_BASE_URL")):
        assert service_env(raw[name])[variable] == "${PUBLIC_BASE_URL:-}", name
    assert service_env(raw["tls-init"])["PUBLIC_HTTPS_PORT"] == "${PUBLIC_HTTPS_PORT:-443}"
    assert "${PUBLIC_HTTPS_PORT:-443}:443" in raw["nginx"]["ports"]


def test_compose_health_means_ready_when_our_services_are_probed() -> None:
    for name in APP_SERVICES:
        assert services()[name]["healthcheck"]["test"] == ["CMD", "python", "/app/ops/healthcheck.py", "/readyz"]


def test_compose_nginx_waits_for_its_certificate_only_when_started() -> None:
    assert set(services()["nginx"]["depends_on"]) == {"tls-init"}


def test_compose_stop_grace_outlasts_each_services_own_drain_when_stopped() -> None:
    from bot.runtime import SHUTDOWN_GRACE_SECONDS
    from bot.services.albums import CLOSE_GRACE_SECONDS

    def seconds(text: str) -> float:
        return float(text.removesuffix("s"))

    grace = {name: seconds(services()[name]["stop_grace_period"]) for name in APP_SERVICES}
    assert grace["bot"] > SHUTDOWN_GRACE_SECONDS + CLOSE_GRACE_SECONDS  # updates in flight, then albums being taken
    assert grace["processors"] > 30  # stream_processors.commands waits 30 s for the runner
    assert grace["api"] > 10  # api.__main__: timeout_graceful_shutdown


def test_compose_limits_the_memory_of_every_service_when_run() -> None:
    for name, service in services().items():
        limit = (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
        assert limit and re.fullmatch(r"\d+[MG]", str(limit)), f"{name} has no memory limit"


def test_compose_volumes_have_fixed_names_when_the_project_is_renamed() -> None:
    document = compose({"COMPOSE_PROJECT_NAME": "something-else"})
    for key, volume in document["volumes"].items():
        assert volume["name"] == f"docvault_{key}", key


def test_compose_keeps_the_stores_on_an_internal_network_when_wired() -> None:
    document = compose()
    assert document["networks"]["data"].get("internal") is True
    for name in ("mongo", "redis", "s3"):
        assert services()[name]["networks"] == ["data"], name
    assert services()["nginx"]["networks"] == ["edge"]
    assert "data" not in services()["prometheus"]["networks"] and "data" not in services()["grafana"]["networks"]
    for name in ("secrets-init", "tls-init"):
        assert services()[name]["network_mode"] == "none"


def test_makefile_up_rebuilds_the_image_when_run_after_a_pull() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^up:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe and "docker compose up -d --build" in recipe[1]


def test_compose_mongo_runs_a_replica_set_it_initiates_itself_when_first_checked() -> None:
    mongo = services()["mongo"]
    assert mongo["command"][:3] == ["mongod", "--replSet", "rs0"]
    assert "--keyFile" in mongo["command"]
    probe = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'mongo:27017'}]})" in probe
    assert "isWritablePrimary" in probe


def test_rabbitmq_config_enables_streams_and_advertises_the_service_name_when_mounted() -> None:
    plugins = (ROOT / "infra" / "rabbitmq" / "enabled_plugins").read_text(encoding="utf-8")
    for plugin in ("rabbitmq_stream", "rabbitmq_prometheus", "rabbitmq_management"):
        assert re.search(rf"[\[,]{plugin}[,\]]", plugins), plugin
    settings = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition("=")
            for line in (ROOT / "infra" / "rabbitmq" / "docvault.conf").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )
    )
    assert settings["stream.advertised_host"] == services()["rabbitmq"]["hostname"]
    assert settings["stream.listeners.tcp.1"] == "5552"
