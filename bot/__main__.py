"""``python -m bot``: run the Telegram bot in the mode ``BOT_MODE`` names (polling or webhook).

A bad setting, or a token or webhook Telegram refuses, ends the process with one line on stderr and exit code
78 (``service_kit.settings.EXIT_CONFIG``), never a traceback; docs/operations.md explains the restart policy.
"""

from __future__ import annotations

import asyncio
import gc
import sys

from bot.runtime import run_polling, run_webhook, runtime
from bot.settings import BotSettings
from bot.telegram.startup import StartupRefused
from service_kit.logging import configure_logging
from service_kit.settings import EXIT_CONFIG, load_settings

SERVICE = "bot"


async def main(settings: BotSettings) -> None:
    async with runtime(settings) as rt:
        # aiogram's thousands of models are built by now and live forever: keep the collector from walking them
        # again on every full collection (it cost the p99 in bench/bot.py).
        gc.freeze()
        await (run_webhook(rt) if settings.bot_mode == "webhook" else run_polling(rt))


def run() -> int:
    settings = load_settings(BotSettings, SERVICE)  # BOT_TOKEN and the rest come from the environment
    configure_logging(SERVICE, settings.log_level)
    try:
        asyncio.run(main(settings))
    except StartupRefused as refused:
        print(f"{SERVICE}: {refused}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(run())
