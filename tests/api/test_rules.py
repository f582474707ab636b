"""Small pure decisions: search terms, read-your-writes outcomes, error messages, settings validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from api.core.errors import describe_problems
from api.documents.freshness import MAX_PAUSE_SECONDS, Freshness, classify, next_pause
from api.documents.queries import AppliedRecord
from api.documents.search import MAX_SEARCH_TERMS, EmptySearch, search_terms
from api.settings import MAX_BYTES_PER_PERSON_LIMIT, MAX_DOCUMENTS_PER_PERSON_LIMIT, ApiSettings
from service_kit.settings import MongoSettings, S3Settings


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Паспорт РФ", ["паспорт", "рф"]),
        ("ЁЛКА", ["елка"]),
        ("CAFÉ receipt", ["cafe", "receipt"]),
        ("pass pass", ["pass"]),
        ("x" * 40, ["x" * 24]),
    ],
)
def test_search_terms_fold_case_and_accents_when_the_query_has_words(query: str, terms: list[str]) -> None:
    assert search_terms(query) == terms


def test_search_terms_keep_at_most_the_limit_when_the_query_has_many_words() -> None:
    assert len(search_terms(" ".join(f"w{i}" for i in range(50)))) == MAX_SEARCH_TERMS


@pytest.mark.parametrize("query", ["", "   ", "!!!", "— …"])
def test_search_terms_raise_when_the_query_has_no_letter_or_digit(query: str) -> None:
    with pytest.raises(EmptySearch):
        search_terms(query)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, Freshness.PENDING),
        (AppliedRecord(7, "created"), Freshness.APPLIED),
        (AppliedRecord(8, "created"), Freshness.FOREIGN),
    ],
)
def test_classify_tells_pending_applied_and_foreign_when_owner_is_7(
    record: AppliedRecord | None, expected: Freshness
) -> None:
    assert classify(record, 7) is expected


def test_next_pause_grows_to_a_ceiling_and_never_passes_the_deadline_when_polling() -> None:
    assert next_pause(0.01, 10) == 0.02
    assert next_pause(0.15, 10) == MAX_PAUSE_SECONDS
    assert next_pause(0.15, 0.05) == 0.05


def test_describe_problems_names_each_field_once_when_a_parameter_repeats() -> None:
    errors = [{"loc": ("path", "owner_id"), "msg": "too small", "input": "secret"}] * 2 + [
        {"loc": ("query", "limit"), "msg": "not an int"}
    ]

    assert describe_problems(errors) == "path.owner_id: too small; query.limit: not an int"


def test_describe_problems_counts_the_rest_when_there_are_many() -> None:
    errors = [{"loc": ("query", f"p{i}"), "msg": "bad"} for i in range(5)]

    assert describe_problems(errors).endswith("; and 2 more")


def _settings(**values: Any) -> ApiSettings:
    base: dict[str, Any] = {"api_service_token": "t" * 16, "mongo": MongoSettings(), "s3": S3Settings()}
    return ApiSettings.model_validate(base | values)


@pytest.mark.parametrize(
    "values",
    [
        {"api_service_token": None},
        {"api_service_token": "short"},
        {"link_signing_key": "short"},
        {"public_base_url": "https://docs.example.org"},
        {"public_base_url": "ftp://x", "link_signing_key": "k" * 16},
        {"default_page_size": 50, "max_page_size": 10},
        {"upload_part_bytes": 1024},
    ],
)
def test_api_settings_refuse_unsafe_or_inconsistent_values_when_loaded(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(**values)


def test_api_settings_drop_the_trailing_slash_when_given_a_base_url() -> None:
    settings = _settings(link_signing_key="k" * 16, public_base_url="https://docs.example.org/")

    assert settings.public_base_url == "https://docs.example.org"


def test_api_settings_require_the_service_token_when_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_SERVICE_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="api_service_token"):
        ApiSettings()
    monkeypatch.setenv("API_SERVICE_TOKEN", "from-the-environment-123")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1048576")
    loaded = ApiSettings()
    assert (loaded.api_service_token.get_secret_value(), loaded.max_upload_bytes) == ("from-the-environment-123", 2**20)


def test_api_settings_default_to_1000_documents_and_1_gib_per_person_when_not_set() -> None:
    settings = _settings()

    assert (settings.max_documents_per_person, settings.max_bytes_per_person) == (1000, 2**30)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_DOCUMENTS_PER_PERSON", "-5"),
        ("MAX_DOCUMENTS_PER_PERSON", "0"),
        ("MAX_DOCUMENTS_PER_PERSON", "100001"),
        ("MAX_DOCUMENTS_PER_PERSON", "1e3"),
        ("MAX_DOCUMENTS_PER_PERSON", "unlimited"),
        ("MAX_BYTES_PER_PERSON", "-1"),
        ("MAX_BYTES_PER_PERSON", "0"),
        ("MAX_BYTES_PER_PERSON", str(10**30)),
        ("MAX_BYTES_PER_PERSON", "1GiB"),
    ],
)
def test_api_settings_refuse_a_storage_limit_and_name_it_when_out_of_range_or_not_a_number(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("API_SERVICE_TOKEN", "from-the-environment-123")
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError, match=variable.lower()):
        ApiSettings()


def test_api_settings_read_the_storage_limits_when_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_SERVICE_TOKEN", "from-the-environment-123")
    monkeypatch.setenv("MAX_DOCUMENTS_PER_PERSON", str(MAX_DOCUMENTS_PER_PERSON_LIMIT))
    monkeypatch.setenv("MAX_BYTES_PER_PERSON", str(MAX_BYTES_PER_PERSON_LIMIT))

    loaded = ApiSettings()

    assert (loaded.max_documents_per_person, loaded.max_bytes_per_person) == (100_000, 100_000 * 4 * 2**30)
