"""How every event-log client connects: the broker's address and user, and each kind's recovery.

Clients use ``load_balancer_mode`` because the broker advertises a host name clients may not resolve
(measured on RabbitMQ 3.10), and rstream's consumer recovery is off unless asked for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rstream import Consumer, OnClosedErrorInfo, Producer
from rstream.recovery import BackOffRecoveryStrategy

from service_kit.settings import RabbitSettings


def _connection_options(settings: RabbitSettings, name: str) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.stream_port,
        "vhost": settings.vhost,
        "username": settings.username,
        "password": settings.password.get_secret_value(),
        "load_balancer_mode": True,
        "connection_name": name,
    }


def new_producer(settings: RabbitSettings, name: str) -> Producer:
    # A failed append resets the whole producer (see RawPublisher), so no background recovery races it.
    return Producer(**_connection_options(settings, name), recovery_strategy=BackOffRecoveryStrategy(False))


def new_consumer(
    settings: RabbitSettings, name: str, on_close: Callable[[OnClosedErrorInfo], Awaitable[None]] | None
) -> Consumer:
    return Consumer(
        **_connection_options(settings, name),
        on_close_handler=on_close,
        recovery_strategy=BackOffRecoveryStrategy(True),
    )
