"""JSON logs: one valid JSON object per line, with the correlation id of the current task in every line."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from service_kit.correlation import correlation_id_var
from service_kit.logging import JsonFormatter, configure_logging


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of this test only, writing JSON lines into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("processor"))
    logger = logging.getLogger(f"docvault.test.{id(stream)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _log_with_correlation(logger: logging.Logger, correlation_id: str | None, message: str, *args: object) -> None:
    def emit() -> None:
        if correlation_id is not None:
            correlation_id_var.set(correlation_id)
        logger.info(message, *args, extra={"offset": 17, "when": datetime(2026, 1, 1)})

    contextvars.copy_context().run(emit)


@pytest.mark.parametrize("correlation_id", ["9b1d5c0e4f2a4e6b", "req:1.2_x-y", None])
def test_json_formatter_writes_json_line_with_correlation_id_when_record_logged(
    captured: tuple[logging.Logger, io.StringIO], correlation_id: str | None
) -> None:
    logger, stream = captured

    _log_with_correlation(logger, correlation_id, 'документ %s сохранён, "%s"\n', "Паспорт", "копия")

    [line] = _lines(stream)
    assert line["correlation_id"] == correlation_id
    assert (line["level"], line["service"], line["logger"]) == ("INFO", "processor", logger.name)
    assert line["msg"] == 'документ Паспорт сохранён, "копия"\n'
    assert (line["offset"], line["when"]) == (17, "2026-01-01 00:00:00")
    assert abs(datetime.fromisoformat(line["ts"]) - datetime.now().astimezone()) < timedelta(minutes=1)
    assert "Паспорт" in stream.getvalue() and stream.getvalue().count("\n") == 1


def test_json_formatter_includes_traceback_when_exception_logged(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    try:
        raise ValueError("не тот формат")
    except ValueError:
        logger.exception("upload failed")

    [line] = _lines(stream)
    assert line["level"] == "ERROR"
    assert "Traceback" in line["exc"] and "ValueError: не тот формат" in line["exc"]


async def test_json_formatter_writes_each_tasks_own_correlation_id_when_tasks_interleave(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    async def handle_update(correlation_id: str, pause: float) -> None:
        correlation_id_var.set(correlation_id)
        await asyncio.sleep(pause)
        logger.info("handled %s", correlation_id)

    await asyncio.gather(handle_update("first", 0.02), handle_update("second", 0.0), handle_update("third", 0.01))

    lines = _lines(stream)
    assert [line["msg"] for line in lines] == ["handled second", "handled third", "handled first"]
    assert all(line["msg"] == f"handled {line['correlation_id']}" for line in lines)
    assert correlation_id_var.get() is None


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("rstream", "pymongo", "urllib3", "aiogram.event")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


@pytest.mark.usefixtures("restored_logging")
def test_configure_logging_sends_json_lines_to_stderr_when_configured(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("api", "DEBUG")

    logging.getLogger("docvault.unit").debug("готово")
    logging.getLogger("pymongo").info("chatty driver line")

    [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert (line["service"], line["level"], line["msg"]) == ("api", "DEBUG", "готово")
    assert len(logging.getLogger().handlers) == 1
