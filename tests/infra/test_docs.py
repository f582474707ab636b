"""docs/operations.md documents every variable: those compose passes to the services and those the services'
settings classes read (discovered from the code, so a new setting without a line in the table fails here)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator

import pytest
from pydantic_settings import BaseSettings

from tests.infra.infra_files import OPERATIONS_DOC, compose_references, raw_compose, service_env

SETTINGS_MODULES = [
    "service_kit.settings",
    "stream_processors.settings",
    "bot.settings",
    "api.settings",
    "infra.docker.mongo_users",
]
ANCHORS = ["processor-lag-is-growing", "the-dead-letter-stream-is-not-empty", "a-target-is-down", "troubleshooting"]


def documented() -> set[str]:
    """Variable names in the first column of any table of the page."""
    rows = [line for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def env_names(settings: type[BaseSettings]) -> Iterator[str]:
    prefix = settings.model_config.get("env_prefix") or ""
    for name, field in settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            yield from env_names(field.annotation)
        else:
            yield (field.alias or f"{prefix}{name}").upper()


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class the services define; a service package not written yet contributes none."""
    classes = []
    for module_name in SETTINGS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module_name
            and not value.__name__.startswith("_")
        ]
    return classes


def test_operations_doc_lists_every_compose_variable_when_read() -> None:
    """Every variable of .env, and every one compose passes to our own image (other images document theirs)."""
    names = {ref.name for ref in compose_references()}
    for service in raw_compose()["services"].values():
        if "build" in service:
            names |= {name.removesuffix("_FILE") for name in service_env(service)}  # NAME_FILE gives NAME
    assert names - documented() == set()


@pytest.mark.parametrize("settings", settings_classes(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_operations_doc_lists_every_setting_a_service_reads_when_read(settings: type[BaseSettings]) -> None:
    assert set(env_names(settings)) - documented() == set()


def test_settings_discovery_finds_the_processor_and_shared_settings_when_imported() -> None:
    names = {cls.__name__ for cls in settings_classes()}
    assert {"ProcessorSettings", "RabbitSettings", "MongoSettings", "S3Settings"} <= names
    assert {"PROCESSOR_VERSION", "RABBITMQ_STREAM_PORT", "MONGO_URL"} <= {
        name for cls in settings_classes() for name in env_names(cls)
    }


def test_operations_doc_has_the_sections_alert_runbooks_link_to_when_rendered() -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    assert set(ANCHORS) <= headings
