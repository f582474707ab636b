"""Grafana: the provisioned datasource and dashboards line up with the compose mounts, the pipeline dashboard has
the panels the issue lists, every query is valid PromQL (promtool) and reads only metrics we export."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
import yaml

from tests.infra.infra_files import (
    DASHBOARDS,
    GRAFANA_PROVISIONING,
    Json,
    dashboard_exprs,
    dashboard_files,
    dashboard_panels,
    load_json,
    load_yaml,
    require_binary,
    run,
    service_env,
    services,
    unknown_metric_names,
)

PIPELINE = "docvault-pipeline.json"
# What the issue asks the pipeline dashboard to show: words that must appear in some panel title.
REQUIRED_PANELS = [
    ("updates/s",),
    ("handler latency",),
    ("telegram api call latency", "method"),
    ("api requests/s", "route"),
    ("api latency", "route"),
    ("events appended/s", "type"),
    ("events consumed/s", "type"),
    ("processor lag",),
    ("dlq",),
    ("unapplicable",),
    ("stream messages/s",),
    ("bot calls to the query api", "operation"),
    ("telegram file download", "getfile"),
]
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def datasource() -> Json:
    document = cast(Json, load_yaml(GRAFANA_PROVISIONING / "datasources" / "prometheus.yml"))
    (source,) = document["datasources"]
    return cast(Json, source)


def pipeline() -> Json:
    return load_json(DASHBOARDS / PIPELINE)


def test_grafana_datasource_points_at_the_prometheus_service_when_provisioned() -> None:
    source = datasource()
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "prometheus" in services()


def test_pipeline_dashboard_shows_unapplicable_events_by_stream_when_opened() -> None:
    [panel] = [p for p in dashboard_panels(pipeline()) if "unapplicable" in p["title"].lower()]
    [expr] = [target["expr"] for target in panel["targets"]]
    assert 'docvault_dead_lettered_total{reason="unapplicable"}' in expr and "by (stream)" in expr


def test_pipeline_dashboard_panels_do_not_overlap_when_laid_out() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard_panels(pipeline()):
        grid = panel["gridPos"]
        xs, ys = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        area = {(x, y) for x in xs for y in ys}
        assert not cells & area, panel["title"]
        cells |= area


def test_dashboard_provider_reads_the_directory_compose_mounts_when_grafana_starts() -> None:
    provider_file = cast(Json, load_yaml(GRAFANA_PROVISIONING / "dashboards" / "docvault.yml"))
    (provider,) = provider_file["providers"]
    grafana = services()["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["./infra/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = service_env(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{PIPELINE}"


def test_grafana_allows_anonymous_read_only_viewing_when_configured() -> None:
    env = service_env(services()["grafana"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert pipeline()["editable"] is False


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_dashboard_panels_query_the_provisioned_datasource_when_rendered(path: Path) -> None:
    dashboard = load_json(path)
    uid = datasource()["uid"]
    for panel in dashboard_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid and target["expr"].strip(), panel["title"]


def test_pipeline_dashboard_shows_every_panel_the_issue_lists_when_opened() -> None:
    titles = [panel["title"].lower() for panel in dashboard_panels(pipeline())]
    missing = [words for words in REQUIRED_PANELS if not any(all(w in title for w in words) for title in titles)]
    assert missing == []


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_dashboard_queries_use_only_exported_metric_names_when_rendered(path: Path) -> None:
    exprs = dashboard_exprs(load_json(path))
    assert len(exprs) >= 10
    assert unknown_metric_names(exprs) == set()


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_dashboard_queries_are_valid_promql_when_promtool_parses_them(path: Path, tmp_path: Path) -> None:
    rules = []
    for index, expr in enumerate(dashboard_exprs(load_json(path))):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    rule_file = tmp_path / "dashboard_rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}), encoding="utf-8")
    result = run([require_binary("promtool"), "check", "rules", str(rule_file)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promql_check_rejects_a_broken_query_when_promtool_parses_it(tmp_path: Path) -> None:
    rule_file = tmp_path / "broken.yml"
    broken = {"record": "dashboard:broken", "expr": "sum by (job (rate(docvault_requests_total[5m]))"}
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [broken]}]}), encoding="utf-8")
    assert run([require_binary("promtool"), "check", "rules", str(rule_file)]).returncode != 0
