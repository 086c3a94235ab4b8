"""Static checks of the Grafana dashboard and Prometheus's scrape config: every metric and
label a panel queries is one the services export, and every job scrapes a service's port."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.metrics import SCHEMA
from tests.unit.docker.compose_file import DOCKER_DIR, load_compose, parse_service_args
from tests.unit.docker.compose_file import strom_command as compose_strom_command

DASHBOARD = DOCKER_DIR / "grafana" / "dashboards" / "strom.json"
PROMETHEUS = DOCKER_DIR / "prometheus.yml"
SERVICES: dict[str, dict[str, Any]] = load_compose()["services"]
# Labels Prometheus adds to every scraped sample, and the bucket bound of histograms.
_TARGET_LABELS = {"job", "instance"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset",
}  # fmt: skip
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# The seed's key metrics (3.8.4) and the issue's: each must be on the dashboard.
KEY_METRICS = {
    "service_requests",
    "service_latency",
    "shard_transaction_latency",
    "cache_requests",
    "cache_miss",
    "task_latency_queue",
    "poll_success_sync",
    "poll_success",
    "poll_timeouts",
    "approximate_backlog_count",
    "persistence_latency",
    "kafka_consumergroup_lag",
}


def _panels() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def family_of(sample: str) -> tuple[str, str]:
    """(family, type) of a sample name the dashboard queries, e.g. `x_total` -> `x`.

    Raises:
        AssertionError: No exported family has a sample of that name.
    """
    for family, (kind, _labels) in SCHEMA.items():
        for suffix in _SUFFIXES[kind]:
            if sample == family + suffix:
                return family, kind
    raise AssertionError(f"the dashboard queries {sample!r}, which no Strom service exports")


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Each metric an expression selects, with the label names its matchers use."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values say nothing here
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, `[$__rate_interval]`
    found = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", text):
        name, braces = match.group(1), match.group(2) or ""
        if text[match.end() :].lstrip().startswith("(") or name in _PROMQL_WORDS:
            continue  # a function, an aggregation or a keyword
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", braces))
        found.append((name, labels))
    return found


def grouping_labels(expr: str) -> set[str]:
    """The label names of every `by (...)` / `without (...)` clause."""
    return {
        label.strip()
        for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        for label in clause.split(",")
        if label.strip()
    }


def test_the_selector_reader_finds_metrics_and_skips_functions_and_labels() -> None:
    expr = (
        'sum by (le, operation) (rate(service_latency_bucket{job="x", operation!~"Poll.*"}'
        "[$__rate_interval])) / on(job) up"
    )
    assert selectors(expr) == [("service_latency_bucket", {"job", "operation"}), ("up", set())]
    assert grouping_labels(expr) == {"le", "operation"}


@pytest.mark.parametrize("expr", _exprs())
def test_every_queried_metric_and_label_is_exported(expr: str) -> None:
    found = selectors(expr)
    assert found, f"no metric in {expr!r}"
    allowed = set(_TARGET_LABELS)
    for sample, labels in found:
        family, kind = family_of(sample)
        exported = set(SCHEMA[family][1]) | _TARGET_LABELS
        if kind == "histogram" and sample.endswith("_bucket"):
            exported.add("le")
        assert labels <= exported, f"{sample} has no label {labels - exported} in {expr!r}"
        allowed |= exported
    assert grouping_labels(expr) <= allowed, f"grouping by an unexported label in {expr!r}"


def test_the_dashboard_shows_every_key_metric() -> None:
    queried = {family_of(s)[0] for e in _exprs() for s, _ in selectors(e)}
    assert queried >= KEY_METRICS, f"not on the dashboard: {sorted(KEY_METRICS - queried)}"
    assert set(SCHEMA) >= KEY_METRICS


def test_panels_are_well_formed_for_grafana() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    datasource = yaml.safe_load(
        (DOCKER_DIR / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"][0]
    for panel in _panels():
        assert panel["title"] and panel["targets"], panel
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        for target in [panel, *panel["targets"]]:
            assert target["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
    assert datasource["url"] == "http://prometheus:9090"
    assert "prometheus" in SERVICES
    assert "9090:9090" in SERVICES["prometheus"]["ports"]


def test_jobs_the_dashboard_names_are_scraped() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    named = {j for e in _exprs() for j in re.findall(r'job="([^"]+)"', e)}
    assert named and named <= jobs, f"jobs the scrape config lacks: {sorted(named - jobs)}"


def test_each_job_scrapes_every_replica_at_its_services_metrics_port(tmp_path: Path) -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = config["scrape_configs"]
    assert {job["job_name"] for job in jobs} == {
        "frontend",
        "history",
        "matching",
        "indexer",
        "replication",
    }
    for job in jobs:
        (sd,) = job["dns_sd_configs"]
        (service,) = sd["names"]  # Docker's DNS answers a service name with every replica
        assert sd["type"] == "A"
        module, args = compose_strom_command(SERVICES[service], "0123456789ab", tmp_path)
        parsed = parse_service_args(module, args)
        assert parsed.metrics_port == sd["port"], (service, parsed.metrics_port)
        assert parsed.metrics_host == "0.0.0.0", f"{service}: Prometheus reaches it over the net"
    mounted = {str(v).split(":")[1] for v in SERVICES["prometheus"]["volumes"]}
    assert "/etc/prometheus/prometheus.yml" in mounted
    assert "--config.file=/etc/prometheus/prometheus.yml" in SERVICES["prometheus"]["command"]


def test_grafana_provisions_the_dashboard_folder_it_mounts() -> None:
    grafana = SERVICES["grafana"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in grafana["volumes"]}
    provider = yaml.safe_load(
        (DOCKER_DIR / "grafana/provisioning/dashboards/strom.yaml").read_text()
    )["providers"][0]
    folder = mounts[provider["options"]["path"]]
    assert (DOCKER_DIR / folder / DASHBOARD.name).resolve() == DASHBOARD.resolve()
    assert (DOCKER_DIR / mounts["/etc/grafana/provisioning"]).resolve() == (
        DOCKER_DIR / "grafana/provisioning"
    ).resolve()
