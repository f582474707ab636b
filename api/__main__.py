"""``python -m api``: serve the query API with uvicorn (settings from the environment)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import ApiSettings
from service_kit.logging import configure_logging
from service_kit.settings import load_settings


def main() -> None:
    settings = load_settings(ApiSettings, "api")  # a bad setting: one line and exit 78
    configure_logging("api", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the JSON handler configured above
        access_log=False,  # RequestMetricsMiddleware writes one access line with the correlation id
        timeout_graceful_shutdown=10,
        http="httptools",  # the C parser, pinned in pyproject: h11 (pure Python) cost most of an answer's CPU
    )


if __name__ == "__main__":
    main()
