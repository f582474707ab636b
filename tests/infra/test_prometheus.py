"""Prometheus: promtool accepts the config and the rules, the alerts fire when they should (promtool test rules),
every scrape job reaches a compose service on the port it serves, and every metric name is one we export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from tests.infra.infra_files import (
    ALERT_RULES,
    OPERATIONS_DOC,
    PROMETHEUS_CONFIG,
    Json,
    alert_rules,
    load_yaml,
    metric_names,
    require_binary,
    run,
    service_env,
    services,
    unknown_metric_names,
)

ALERT_TESTS = Path(__file__).parent / "prometheus" / "alerts_test.yml"


def scrape_jobs() -> dict[str, Json]:
    config = cast(Json, load_yaml(PROMETHEUS_CONFIG))
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_promtool_accepts_the_prometheus_config_when_checked() -> None:
    result = run([require_binary("promtool"), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout, "rule_files must find infra/prometheus/rules/*.yml"


def test_promtool_accepts_the_alert_rules_when_checked() -> None:
    result = run([require_binary("promtool"), "check", "rules", str(ALERT_RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_fire_on_synthetic_histories_when_promtool_replays_them() -> None:
    result = run([require_binary("promtool"), "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_fail_when_an_expected_alert_does_not_fire(tmp_path: Path) -> None:
    broken = ALERT_TESTS.read_text(encoding="utf-8").replace("values: '0+10x40'", "values: '100x40'", 1)
    broken = broken.replace("../../../infra/prometheus/rules/docvault.yml", str(ALERT_RULES))
    (tmp_path / "alerts_test.yml").write_text(broken, encoding="utf-8")
    result = run([require_binary("promtool"), "test", "rules", "alerts_test.yml"], cwd=tmp_path)
    assert result.returncode != 0 and "DocVaultProcessorLagGrowing" in result.stdout + result.stderr


def test_alert_rules_cover_lag_dead_letters_errors_and_targets_when_loaded() -> None:
    metrics_by_alert = {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    assert "docvault_processor_lag_events" in metrics_by_alert["DocVaultProcessorLagGrowing"]
    assert "docvault_dead_lettered_total" in metrics_by_alert["DocVaultDeadLetters"]
    assert "docvault_dead_lettered_total" in metrics_by_alert["DocVaultUnapplicableEvents"]
    assert "docvault_requests_total" in metrics_by_alert["DocVaultHighErrorRate"]
    assert metrics_by_alert["DocVaultTargetDown"] == {"up"}
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]


def test_alert_runbooks_point_at_sections_of_the_operations_doc_when_followed() -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    runbooks = {rule["alert"]: rule["annotations"]["runbook"] for rule in alert_rules()}
    assert {
        alert: link
        for alert, link in runbooks.items()
        if not link.startswith("docs/operations.md#") or link.split("#", 1)[1] not in headings
    } == {}


def test_alert_rules_use_only_exported_metric_names_when_evaluated() -> None:
    exprs = [rule["expr"] for rule in alert_rules()]
    assert unknown_metric_names(exprs) == set()


def test_metric_name_check_reports_a_name_no_service_exports_when_used() -> None:
    exprs = [
        'sum(rate(docvault_requests_totl{job="api"}[5m])) / sum(rate(docvault_requests_total[5m]))',
        "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > up",
    ]
    assert unknown_metric_names(exprs) == {"docvault_requests_totl", "http_request_duration_seconds_bucket"}


def test_scrape_jobs_target_the_compose_services_on_their_ports_when_discovered() -> None:
    jobs = scrape_jobs()
    all_services = services()
    for job, name in (("api", "api"), ("processors", "processors"), ("bot", "bot")):
        (discovery,) = jobs[job]["dns_sd_configs"]
        assert discovery["names"] == [name] and discovery["type"] == "A"
        assert str(discovery["port"]) == service_env(all_services[name])["HTTP_PORT"]
    for job in ("rabbitmq", "rabbitmq-queues"):
        assert jobs[job]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    assert jobs["rabbitmq-queues"]["metrics_path"] == "/metrics/detailed"
    assert jobs["rabbitmq-queues"]["params"]["family"] == ["queue_coarse_metrics"]


def test_prometheus_service_mounts_the_config_and_rules_directory_when_started() -> None:
    prometheus = services()["prometheus"]
    assert "./infra/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
