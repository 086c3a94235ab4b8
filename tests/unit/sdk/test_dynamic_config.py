"""`strom server start-dev --dynamic-config-value`: Temporal's keys mapped onto service flags."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from schemas.topics import Topology
from strom import cli
from strom._devserver import DevServerError
from strom._devserver.dynamic_config import HONOURED, parse_pair, service_flags
from strom._services import SERVICE_NAMES, ServiceSet

pytestmark = pytest.mark.timeout(60)

# What the official Python SDK's test suite passes to the dev server (tests/conftest.py).
_SDK_SUITE = [
    "system.forceSearchAttributesCacheRefreshOnRead=true",
    "limit.historyCount.suggestContinueAsNew=50",
    "system.enableEagerWorkflowStart=true",
    'system.system.refreshNexusEndpointsMinWait="0s"',
]


def test_values_are_json_as_the_temporal_cli_reads_them() -> None:
    assert parse_pair("a.b=50") == ("a.b", 50)
    assert parse_pair("a.b=true") == ("a.b", True)
    assert parse_pair('a.b="0s"') == ("a.b", "0s")
    assert parse_pair("a.b=1.5") == ("a.b", 1.5)
    with pytest.raises(Exception, match="must be JSON"):
        parse_pair("a.b=x=1")


def test_the_sdk_suites_values_set_the_history_threshold_and_name_the_rest() -> None:
    flags = service_flags(parse_pair(text) for text in _SDK_SUITE)
    assert flags.args == {"history": ["--suggest-continue-as-new-count", "50"]}
    assert flags.ignored == [
        "system.forceSearchAttributesCacheRefreshOnRead",
        "system.enableEagerWorkflowStart",
        "system.system.refreshNexusEndpointsMinWait",
    ]
    assert flags.warning is not None
    assert flags.warning.startswith("ignoring 3 dynamic config value(s) Strom has no setting for")
    assert "system.enableEagerWorkflowStart" in flags.warning


def test_every_honoured_key_reaches_its_service_and_the_last_value_wins() -> None:
    pairs = [
        ("limit.historyCount.suggestContinueAsNew", 10),
        ("limit.historyCount.suggestContinueAsNew", 20.0),  # JSON numbers may be floats
        ("limit.historySize.suggestContinueAsNew", 1024),
        ("history.persistenceMaxQPS", 0),
        ("frontend.persistenceMaxQPS", 150),
        ("frontend.namespaceRPS", 2.5),
    ]
    flags = service_flags(pairs)
    assert flags.ignored == [] and flags.warning is None
    assert flags.args == {
        "history": [
            "--suggest-continue-as-new-count",
            "20",
            "--suggest-continue-as-new-size",
            "1024",
            "--persistence-max-qps",
            "0.0",
        ],
        "frontend": ["--persistence-max-qps", "150.0", "--namespace-rps", "2.5"],
    }
    assert {setting.service for setting in HONOURED.values()} <= set(SERVICE_NAMES)


def test_the_flags_are_ones_the_services_accept() -> None:
    from frontend.__main__ import build_parser as frontend_parser
    from history_processor.__main__ import build_parser as history_parser

    flags = service_flags((key, 7) for key in HONOURED)
    history = history_parser().parse_args(
        ["--bootstrap", "b", "--state-dir", "s"] + flags.args["history"]
    )
    assert history.suggest_continue_as_new_count == 7
    assert history.suggest_continue_as_new_size == 7
    assert history.persistence_max_qps == 7.0
    assert history.max_pending_activities == history.max_pending_child_workflows == 7
    assert history.max_pending_signals == history.max_pending_cancel_requests == 7
    frontend = frontend_parser().parse_args(
        ["--bootstrap", "b", "--es-url", "e"] + flags.args["frontend"]
    )
    assert (frontend.namespace_rps, frontend.persistence_max_qps) == (7.0, 7.0)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("limit.historyCount.suggestContinueAsNew", "ten", "must be a number"),
        ("limit.historyCount.suggestContinueAsNew", True, "must be a number"),
        ("limit.historyCount.suggestContinueAsNew", 2.5, "must be a whole number"),
        ("limit.historySize.suggestContinueAsNew", 0, "must be positive"),
        ("history.persistenceMaxQPS", -1, "must be 0 or more"),
        ("frontend.namespaceRPS", 0, "must be positive"),
    ],
)
def test_a_bad_value_of_a_honoured_key_is_an_error(key: str, value: object, message: str) -> None:
    with pytest.raises(DevServerError, match=f"dynamic config {key} {message}"):
        service_flags([(key, value)])


def test_the_cli_reports_bad_values_in_one_line_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["server", "start-dev", "--data-dir", str(tmp_path / "data")]
    code = cli.main([*base, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=0"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        "strom: error: dynamic config limit.historyCount.suggestContinueAsNew must be "
        "positive, got 0\n"
    )
    assert not (tmp_path / "data").exists(), "nothing was started"
    for bad, said in [("nokey", "expected KEY=VALUE"), ("k=abc", "must be JSON")]:
        with pytest.raises(SystemExit) as raised:
            cli.main([*base, "--dynamic-config-value", bad])
        assert raised.value.code == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err


def test_help_lists_the_honoured_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["server", "start-dev", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--dynamic-config-value KEY=VALUE" in out
    for key in HONOURED:
        assert key in out


def test_services_get_their_extra_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = ServiceSet(Topology(), 0, tmp_path)
    services.extra_args = {"history": ["--suggest-continue-as-new-count", "50"]}
    monkeypatch.setattr(services, "respawn", lambda name: None)
    services._spawn("history", "history_processor", ["--bootstrap", "b"])
    services._spawn("frontend", "frontend", ["--bootstrap", "b"])
    assert services.commands["history"] == [
        sys.executable,
        "-m",
        "history_processor",
        "--bootstrap",
        "b",
        "--suggest-continue-as-new-count",
        "50",
    ]
    assert services.commands["frontend"] == [sys.executable, "-m", "frontend", "--bootstrap", "b"]
