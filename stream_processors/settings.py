"""Processor settings (environment only)."""

from __future__ import annotations

from pydantic import Field

from service_kit.settings import MongoSettings, RabbitSettings, ServiceSettings


class ProcessorSettings(ServiceSettings):
    processor_name: str = "read-models"
    processor_version: int = Field(default=1, ge=1)
    batch_size: int = Field(default=500, ge=1, le=5000)
    lag_probe_seconds: float = Field(default=10.0, gt=0)
    http_port: int = 8081
    rabbitmq: RabbitSettings = Field(default_factory=RabbitSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
