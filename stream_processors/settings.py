"""Processor settings (environment only)."""

from __future__ import annotations

from pydantic import Field, model_validator

from service_kit.settings import MasterKeys, MongoSettings, RabbitSettings, ServiceSettings


class ProcessorSettings(ServiceSettings):
    processor_name: str = "read-models"
    processor_version: int = Field(default=1, ge=1)
    batch_size: int = Field(default=500, ge=1, le=5000)
    lag_probe_seconds: float = Field(default=10.0, gt=0)
    # A standby takes over once the active instance has not renewed its lease for LEASE_TTL_SECONDS.
    lease_ttl_seconds: float = Field(default=10.0, gt=0)
    lease_renew_seconds: float = Field(default=2.0, gt=0)
    http_port: int = 8081
    # Days a deleted document can be restored before it is purged (read model and file; docs/adr/0014). Part of the
    # projection: change it with a rebuild into a new version, or the old and new rules mix in one read model.
    retention_days: int = Field(default=30, ge=1, le=3650)
    # Required: the processors open sealed fields to compute names and keyed hashes (docs/privacy.md).
    master_keys: MasterKeys
    rabbitmq: RabbitSettings = Field(default_factory=RabbitSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)

    @model_validator(mode="after")
    def _renew_well_within_the_ttl(self) -> ProcessorSettings:
        if self.lease_renew_seconds * 2 > self.lease_ttl_seconds:
            raise ValueError(
                "LEASE_RENEW_SECONDS must be at most half of LEASE_TTL_SECONDS, or one slow renewal "
                "hands the lease to a standby"
            )
        return self
