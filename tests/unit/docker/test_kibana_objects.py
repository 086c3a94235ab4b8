"""Checks of Kibana's saved objects (docker/kibana/saved_objects.ndjson) and of their loader."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from history_processor.state import WorkflowStatus
from schemas.visibility.template import index_name, mappings, template_body
from tests.unit.docker.compose_file import DOCKER_DIR, environment, host_path, load_compose

OBJECTS_FILE = DOCKER_DIR / "kibana" / "saved_objects.ndjson"
IMPORT_SCRIPT = DOCKER_DIR / "kibana" / "import.sh"
SEARCH_TITLES = {"Running workflows by type", "Failed in the last day", "Longest running"}
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
# One clause of the KQL queries used here: `Field : "value"` or `Field >= value`.
_KQL_CLAUSE = re.compile(r'^(?:not\s+)?([A-Za-z_][\w.]*)\s*(:|<=|>=|<|>)\s*"?([^"]*)"?$')


def _objects() -> list[dict[str, Any]]:
    objects = []
    for number, line in enumerate(OBJECTS_FILE.read_text().splitlines(), 1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"line {number} is no JSON: {exc}")
        assert isinstance(item, dict), f"line {number} is no JSON object"
        objects.append(item)
    return objects


def _searches() -> dict[str, dict[str, Any]]:
    return {o["attributes"]["title"]: o for o in _objects() if o["type"] == "search"}


def _search_source(item: dict[str, Any]) -> dict[str, Any]:
    source = json.loads(item["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert isinstance(source, dict)
    return source


def _kql_clauses(query: str) -> list[tuple[str, str, str]]:
    """``(field, operator, value)`` of each clause of a query joined by ``and``/``or``."""
    clauses = []
    for text in re.split(r"\s+(?:and|or)\s+", query.strip(), flags=re.IGNORECASE):
        match = _KQL_CLAUSE.match(text.strip("() "))
        assert match, f"query clause {text!r} is not of the simple form this test reads"
        clauses.append((match[1], match[2], match[3]))
    return clauses


def _range_filters(source: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Field -> range bounds of the search's enabled range filters."""
    ranges = {}
    for item in source.get("filter", []):
        if item["meta"].get("disabled"):
            continue
        for field, bounds in item["query"].get("range", {}).items():
            assert item["meta"]["key"] == field, "a filter's meta must name the field it filters"
            ranges[field] = bounds
    return ranges


def test_every_line_is_a_saved_object_in_kibanas_export_format() -> None:
    objects = _objects()
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys)), "duplicate type/id"
    for item in objects:
        assert isinstance(item["id"], str) and item["id"], item
        assert item["type"] in ("index-pattern", "search"), item["type"]
        assert isinstance(item["attributes"], dict) and isinstance(item["references"], list)
        # Kibana needs both versions on objects written outside Kibana to migrate them.
        assert _VERSION.match(item["coreMigrationVersion"]), item["id"]
        assert _VERSION.match(item["typeMigrationVersion"]), item["id"]


def test_every_reference_resolves_and_every_ref_name_is_a_reference() -> None:
    objects = _objects()
    defined = {(o["type"], o["id"]) for o in objects}
    for item in objects:
        names = [ref["name"] for ref in item["references"]]
        assert len(names) == len(set(names)), f"{item['id']}: reference names repeat"
        for ref in item["references"]:
            assert (ref["type"], ref["id"]) in defined, f"{item['id']}: dangling {ref}"
        if item["type"] != "search":
            continue
        source = _search_source(item)
        assert "index" not in source, "a search names its data view through references only"
        used = [source["indexRefName"]] + [f["meta"]["indexRefName"] for f in source["filter"]]
        for name in used:
            assert name in names, f"{item['id']}: {name} is not among its references"
        data_view = next(r for r in item["references"] if r["name"] == source["indexRefName"])
        assert data_view["type"] == "index-pattern"


def test_the_data_view_covers_the_visibility_index() -> None:
    views = [o for o in _objects() if o["type"] == "index-pattern"]
    assert len(views) == 1
    title = views[0]["attributes"]["title"]
    assert title == index_name("strom")
    assert any(fnmatch.fnmatch(title, p) for p in template_body("strom")["index_patterns"])


def test_every_field_the_objects_name_is_in_the_index_mapping() -> None:
    fields = set(mappings()["properties"])
    view = next(o["attributes"] for o in _objects() if o["type"] == "index-pattern")
    named = set(json.loads(view["fieldFormatMap"]))
    named |= {f["value"] for f in json.loads(view["sourceFilters"])}
    if "timeFieldName" in view:
        named.add(view["timeFieldName"])
    for title, item in _searches().items():
        source = _search_source(item)
        used = set(item["attributes"]["columns"])
        used |= {field for field, _ in item["attributes"]["sort"]}
        used |= {field for field, _, _ in _kql_clauses(source["query"]["query"])}
        used |= set(_range_filters(source))
        assert used <= fields, f"{title}: {sorted(used - fields)} not in the mapping"
        named |= used
    assert named <= fields, sorted(named - fields)


def test_status_values_are_those_the_history_writes() -> None:
    written = {status.value for status in WorkflowStatus}
    for title, item in _searches().items():
        query = _search_source(item)["query"]
        assert query["language"] == "kuery"
        for field, _, value in _kql_clauses(query["query"]):
            if field == "ExecutionStatus":
                assert value in written, f"{title}: status {value!r} is never written"


def test_the_three_saved_searches_ask_what_their_titles_say() -> None:
    searches = _searches()
    assert set(searches) == SEARCH_TITLES

    def status(title: str) -> set[str]:
        query = _search_source(searches[title])["query"]["query"]
        return {v for f, op, v in _kql_clauses(query) if f == "ExecutionStatus" and op == ":"}

    by_type = searches["Running workflows by type"]["attributes"]
    assert status("Running workflows by type") == {"Running"}
    assert by_type["columns"][0] == "WorkflowType" and by_type["sort"][0] == ["WorkflowType", "asc"]

    assert status("Failed in the last day") == {"Failed"}
    closed = _range_filters(_search_source(searches["Failed in the last day"]))["CloseTime"]
    assert closed["gte"] == "now-1d"

    assert status("Longest running") == {"Running"}
    assert searches["Longest running"]["attributes"]["sort"] == [["StartTime", "asc"]]


def test_the_saved_searches_are_not_limited_by_a_time_field() -> None:
    # Running executions have no CloseTime and old ones fall outside Discover's default time
    # range: a time field on the data view would hide exactly what "Longest running" looks for.
    view = next(o["attributes"] for o in _objects() if o["type"] == "index-pattern")
    assert "timeFieldName" not in view


# --- docker/kibana/import.sh, run with a stand-in curl ------------------------------------------

_FAKE_CURL = """#!/bin/sh
# Answers attempt n with line n of $FAKE_CURL/responses ("exit code|body"); the last line repeats.
n=$(( $(cat "$FAKE_CURL/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$FAKE_CURL/count"
printf '%s\\n' "$@" > "$FAKE_CURL/args.$n"
line=$(sed -n "${n}p" "$FAKE_CURL/responses")
[ -n "$line" ] || line=$(tail -n 1 "$FAKE_CURL/responses")
printf '%s' "${line#*|}"
exit "${line%%|*}"
"""


def _run_import(
    tmp_path: Path, responses: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(_FAKE_CURL)
    (bin_dir / "curl").chmod(0o755)
    (tmp_path / "responses").write_text("\n".join(responses) + "\n")
    done = subprocess.run(
        ["bash", str(IMPORT_SCRIPT)],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_CURL": str(tmp_path),
            "IMPORT_RETRY_DELAY_S": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = sorted(tmp_path.glob("args.*"), key=lambda p: int(p.suffix[1:]))
    return done, [p.read_text().splitlines() for p in calls]


def _setup_env() -> dict[str, str]:
    """kibana-setup's environment, its saved-objects path mapped to this checkout."""
    setup = load_compose()["services"]["kibana-setup"]
    env = environment(setup)
    env["SAVED_OBJECTS"] = str(host_path(setup, env["SAVED_OBJECTS"]))
    return env


def test_kibana_setup_runs_the_import_script_on_the_saved_objects() -> None:
    services = load_compose()["services"]
    setup = services["kibana-setup"]
    assert setup["restart"] == "no"
    script = host_path(setup, setup["entrypoint"][-1])
    assert script == IMPORT_SCRIPT.resolve()
    assert host_path(setup, environment(setup)["SAVED_OBJECTS"]) == OBJECTS_FILE.resolve()
    kibana = urlsplit(environment(setup)["KIBANA_URL"])
    assert kibana.hostname == "kibana" and "kibana" in services
    assert f"{kibana.port}:{kibana.port}" in services["kibana"]["ports"]


def test_import_waits_for_kibana_then_posts_the_file(tmp_path: Path) -> None:
    env = _setup_env()
    done, calls = _run_import(
        tmp_path,
        [
            "7|curl: (7) Failed to connect to kibana port 5601",
            "0|Kibana server is not ready yet",
            '0|{"successCount":4,"success":true,"warnings":[]}',
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    assert len(calls) == 3
    args = calls[-1]
    assert f"{env['KIBANA_URL']}/api/saved_objects/_import?overwrite=true" in args
    assert args[args.index("-X") + 1] == "POST"
    headers = [args[i + 1].lower() for i, arg in enumerate(args) if arg == "-H"]
    assert any(h.startswith("kbn-xsrf:") for h in headers), headers
    assert args[args.index("--form") + 1] == f"file=@{env['SAVED_OBJECTS']}"


def test_import_stops_at_once_when_kibana_refuses_the_objects(tmp_path: Path) -> None:
    refused = '0|{"success":false,"successCount":0,"errors":[{"id":"x"}]}'
    done, calls = _run_import(tmp_path, [refused], _setup_env())
    assert done.returncode == 1
    assert len(calls) == 1
    assert "refused" in done.stderr


def test_import_gives_up_after_its_attempts(tmp_path: Path) -> None:
    env = {**_setup_env(), "IMPORT_ATTEMPTS": "3"}
    done, calls = _run_import(tmp_path, ["7|curl: (7) Failed to connect"], env)
    assert done.returncode == 1
    assert len(calls) == 3
    assert "did not answer after 3 attempts" in done.stderr


def test_import_refuses_a_missing_file_without_calling_kibana(tmp_path: Path) -> None:
    env = {**_setup_env(), "SAVED_OBJECTS": str(tmp_path / "missing.ndjson")}
    done, calls = _run_import(tmp_path, ['0|{"success":true}'], env)
    assert done.returncode == 1
    assert calls == []
    assert "cannot read" in done.stderr
