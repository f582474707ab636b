"""Query API settings, from the environment only (see the table in docs/api.md)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from contracts.events import MAX_FILE_SIZE_BYTES
from service_kit.s3 import ClientTuning
from service_kit.settings import MasterKeys, MongoSettings, S3Settings, ServiceSettings

MIB = 1024 * 1024
S3_MIN_PART_BYTES = 5 * MIB  # S3 rejects smaller parts (except the last one)
MIN_SECRET_LENGTH = 16
# The storage check reads every live document of the person (about 40 us each on SecantusDB): a larger
# documents limit would make each upload slow; no person can reach a larger bytes limit.
MAX_DOCUMENTS_PER_PERSON_LIMIT = 100_000
MAX_BYTES_PER_PERSON_LIMIT = MAX_DOCUMENTS_PER_PERSON_LIMIT * MAX_FILE_SIZE_BYTES


def _strong_enough(value: SecretStr | None, name: str) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
        raise ValueError(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
    return value


class ApiSettings(ServiceSettings):
    http_port: int = 8000

    # Required: a deployment without a service token would serve everybody's documents to anyone.
    api_service_token: SecretStr
    # Required: the API is the key service (it seals what people type and encrypts their files).
    master_keys: MasterKeys
    # Signed links are on only when both are set; nginx serves PUBLIC_BASE_URL/v1/files/signed/... to browsers.
    link_signing_key: SecretStr | None = None
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    link_ttl_seconds: int = Field(default=600, ge=10, le=7 * 24 * 3600)

    read_model_version: int = Field(default=1, ge=1)
    # How often the served projection version is re-read from the control collection; 0 pins it.
    read_model_poll_seconds: float = Field(default=5.0, ge=0)
    read_your_writes_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    max_upload_bytes: int = Field(default=2 * 1024 * MIB, ge=1, le=MAX_FILE_SIZE_BYTES)
    # Memory per upload is about 8 parts (measured: 40 MB at 5 MiB x 2, 59 MB at 8 MiB x 2), whatever the file size.
    upload_part_bytes: int = Field(default=S3_MIN_PART_BYTES, ge=S3_MIN_PART_BYTES, le=512 * MIB)
    upload_parallel_parts: int = Field(default=2, ge=1, le=8)
    # Every new upload is encrypted under the person's key (docs/privacy.md). Off stores files in the clear, as v1
    # objects, only to measure the price of encryption (bench/file_encryption.py): the bot's v2 events need the
    # content id and sealed file name an encrypted upload answers, so its saves are refused then.
    encrypt_uploads: bool = True
    # What one person may store (live documents and their bytes; see api/files/quota.py). No "unlimited": 0 is refused.
    max_documents_per_person: int = Field(default=1000, ge=1, le=MAX_DOCUMENTS_PER_PERSON_LIMIT)
    max_bytes_per_person: int = Field(default=1024 * MIB, ge=1, le=MAX_BYTES_PER_PERSON_LIMIT)

    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_types: int = Field(default=500, ge=1, le=10_000)
    # The key service (POST /seal): calls per person per minute, in each API process.
    seal_rate_per_minute: int = Field(default=120, ge=1, le=100_000)
    # Exports (GET /export and its links) per person per minute, in each API process; one at a time besides.
    export_rate_per_minute: int = Field(default=3, ge=1, le=1000)

    # "Forget me": how often the erasure worker looks for forgets whose files and key are still to be erased
    # (api/files/erasure.py); 0 turns it off in this process (another API replica, or none: erasures wait).
    erasure_poll_seconds: float = Field(default=5.0, ge=0, le=3600)

    s3_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    s3_read_timeout_seconds: float = Field(default=30.0, gt=0)
    s3_retries: int = Field(default=2, ge=0, le=10)

    mongo: MongoSettings = Field(default_factory=MongoSettings)
    s3: S3Settings = Field(default_factory=S3Settings)

    @field_validator("api_service_token")
    @classmethod
    def _token_strength(cls, value: SecretStr) -> SecretStr:
        _strong_enough(value, "API_SERVICE_TOKEN")
        return value

    @field_validator("link_signing_key")
    @classmethod
    def _key_strength(cls, value: SecretStr | None) -> SecretStr | None:
        return _strong_enough(value, "LINK_SIGNING_KEY")

    @field_validator("public_base_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # compose passes PUBLIC_BASE_URL= when .env leaves it empty

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _consistent(self) -> ApiSettings:
        if self.default_page_size > self.max_page_size:
            raise ValueError("DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE")
        if self.public_base_url and self.link_signing_key is None:
            raise ValueError("PUBLIC_BASE_URL is set but LINK_SIGNING_KEY is not: signed links need both")
        return self

    @property
    def s3_tuning(self) -> ClientTuning:
        return ClientTuning(
            connect_timeout_seconds=self.s3_connect_timeout_seconds,
            read_timeout_seconds=self.s3_read_timeout_seconds,
            retries=self.s3_retries,
        )
