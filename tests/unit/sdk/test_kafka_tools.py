"""Unit tests of the Kafka-side tools without a broker: formatting, replay outcomes, arguments."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory

from schemas.records import EventBatchRecord
from schemas.topics import Topology
from strom import cli
from strom._devserver import free_port
from strom._formatting import (
    event_details,
    event_time,
    event_type_name,
    format_history,
    format_layout,
    format_retention,
    render_payloads,
)
from strom._history_reader import RunHistory
from strom._kafka_tools import ClusterLayout, GroupLag, PartitionLag, TopicInfo
from strom._tools_commands import format_results, load_workflows, workflow_types
from strom.replay import ReplayResult, ReplayStatus, replay_histories
from tests.unit.sdk.changed_workflows import AnyWorkflow, ChangedOneActivityWorkflow
from tests.workflows.one_activity import OneActivityWorkflow

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "histories" / "one_activity.json"

pytestmark = pytest.mark.timeout(60)


def event(event_id: int, event_type: EventType.ValueType, second: int = 5) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=event_type)
    e.event_time.FromDatetime(datetime(2026, 1, 2, 3, 4, second, 678000))
    return e


def started(name: str = "World") -> HistoryEvent:
    e = event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attributes = e.workflow_execution_started_event_attributes
    attributes.workflow_type.name = "Hi"
    attributes.task_queue.name = "q"
    attributes.input.payloads.add(
        metadata={"encoding": b"json/plain"}, data=json.dumps(name).encode()
    )
    return e


def completed(event_id: int, result: str) -> HistoryEvent:
    e = event(event_id, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, second=9)
    e.workflow_execution_completed_event_attributes.result.payloads.add(
        metadata={"encoding": b"json/plain"}, data=json.dumps(result).encode()
    )
    return e


def batch(events: list[HistoryEvent], run_id: str = "run-1") -> EventBatchRecord:
    return {
        "namespace": "default",
        "workflow_id": "wf",
        "run_id": run_id,
        "first_event_id": events[0].event_id if events else 0,
        "last_event_id": events[-1].event_id if events else 0,
        "events": History(events=events).SerializeToString(),
        "updates": [],
        "command_id": None,
    }


# -- formatting of events ----------------------------------------------------------------------


def test_event_type_names_are_temporals_short_names() -> None:
    assert event_type_name(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) == "WorkflowTaskStarted"
    assert event_type_name(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) == "ActivityTaskTimedOut"
    assert event_type_name(9999) == "EventType(9999)"


def test_event_time_is_utc_to_the_second() -> None:
    assert event_time(started()) == "2026-01-02T03:04:05Z"


def test_payloads_render_json_as_text_and_others_by_encoding() -> None:
    e = started()
    payloads = e.workflow_execution_started_event_attributes.input
    payloads.payloads.add(metadata={"encoding": b"binary/null"})
    payloads.payloads.add(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01\x02")
    payloads.payloads.add(data=b"?")
    assert render_payloads(payloads) == (
        '["World", null, <binary/plain, 3 bytes>, <unknown encoding, 1 bytes>]'
    )


def test_event_details_pick_the_telling_attributes() -> None:
    assert event_details(started()) == 'type=Hi taskQueue=q input=["World"]'
    scheduled = event(5, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    attributes = scheduled.activity_task_scheduled_event_attributes
    attributes.activity_type.name = "greet"
    attributes.activity_id = "1"
    attributes.task_queue.name = "q"
    assert event_details(scheduled) == "activity=greet activityId=1 taskQueue=q"
    failed = event(7, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    failed.activity_task_failed_event_attributes.failure.message = "boom\non two lines"
    failed.activity_task_failed_event_attributes.scheduled_event_id = 5
    assert event_details(failed) == "scheduledEventId=5 failure=boom on two lines"
    timed_out = event(4, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    timed_out.workflow_task_failed_event_attributes.cause = (
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
    )
    assert event_details(timed_out) == (
        "cause=WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE"
    )
    assert event_details(event(3, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)) == ""


def test_event_details_are_cut_short() -> None:
    details = event_details(started("x" * 500))
    assert details.startswith('type=Hi taskQueue=q input=["xxx')
    assert details.endswith("...")
    assert len(details) <= 140


def test_a_run_folds_batches_once_and_knows_its_status() -> None:
    run = RunHistory("default", "wf", "run-1", partition=3)
    assert run.status == "RUNNING" and not run.closed and run.workflow_type == ""
    first = [started(), event(2, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)]
    run.add(batch(first))
    run.add(batch([]))  # a batch of state updates only
    run.add(batch(first[1:]))  # an event id seen before
    assert [e.event_id for e in run.events] == [1, 2]
    assert (run.status, run.closed, run.workflow_type, run.batches) == (
        "RUNNING",
        False,
        "Hi",
        3,
    )
    run.add(batch([completed(3, "done")]))
    assert (run.status, run.closed) == ("COMPLETED", True)
    history = run.to_workflow_history()
    assert history.workflow_id == "wf" and list(history.events) == run.events


def test_history_text_has_a_header_and_a_line_per_event() -> None:
    run = RunHistory("default", "wf", "run-1", partition=3)
    run.add(batch([started(), completed(2, "Hello")]))
    assert format_history(run, "demo.history.events") == textwrap.dedent(
        """\
        Execution:
          WorkflowId  wf
          RunId       run-1
          Type        Hi
          Namespace   default
          TaskQueue   q
          Status      COMPLETED
          Source      demo.history.events partition 3, 1 batches
        Progress:
          ID  Time                  Type                        Details
           1  2026-01-02T03:04:05Z  WorkflowExecutionStarted    type=Hi taskQueue=q input=["World"]
           2  2026-01-02T03:04:09Z  WorkflowExecutionCompleted  result=["Hello"]"""
    )


# -- formatting of the layout ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [(604_800_000, "7d"), (3_600_000, "1h"), (90_000, "90s"), (1500, "1500ms"), (-1, "forever"),
     (0, "0ms"), (None, "?")],
)  # fmt: skip
def test_retention_in_the_largest_whole_unit(ms: int | None, text: str) -> None:
    assert format_retention(ms) == text


def layout() -> ClusterLayout:
    topology = Topology("demo", shards=2, task_partitions=1, reply_partitions=1, tq_partitions=3)
    topics = tuple(
        TopicInfo(spec.name, spec.partitions, spec.cleanup_policy, 604_800_000, 10 * i)
        for i, spec in enumerate(topology.specs())
    )
    history = GroupLag(
        "history", topology.history_group, topology.inbox, "STABLE", 1,
        (PartitionLag(0, 7, 9, 2), PartitionLag(1, None, 4, 4)),
    )  # fmt: skip
    matching = GroupLag("matching", topology.matching_group, topology.tasks, "EMPTY", 0, ())
    return ClusterLayout("broker:9092", topology, topics, (history, matching))


def test_layout_text() -> None:
    text = format_layout(layout())
    assert text.splitlines()[:5] == [
        "Cluster 'demo' at broker:9092:",
        "  history shards          2",
        "  task-queue partitions   3",
        "  tasks topic partitions  1",
        "  reply partitions        1",
    ]
    assert "  demo.history.events           2  compact  7d                  10" in text
    groups = text.split("Consumer groups:\n")[1].splitlines()
    assert groups == [
        "  GROUP          ROLE      TOPIC               STATE   MEMBERS  COMMITTED  END  LAG",
        "  demo.history   history   demo.history.inbox  STABLE        1          7   13    6",
        "  demo.matching  matching  demo.tasks          EMPTY         0          0    0    0",
    ]


def test_layout_json_sums_each_group() -> None:
    data = json.loads(json.dumps(layout().to_json()))
    assert data["settings"] == {
        "shards": 2, "task_partitions": 1, "reply_partitions": 1, "tq_partitions": 3,
    }  # fmt: skip
    assert [t["name"] for t in data["topics"]] == [s.name for s in Topology("demo").specs()]
    history = data["groups"][0]
    assert (history["committed"], history["end"], history["lag"]) == (7, 13, 6)
    assert history["partitions"][1] == {"partition": 1, "committed": None, "end": 4, "lag": 4}


# -- replay ------------------------------------------------------------------------------------


def golden() -> WorkflowHistory:
    return WorkflowHistory.from_json("golden-wf", GOLDEN.read_text())


async def test_replay_of_a_golden_history_ok_and_nondeterministic() -> None:
    [ok] = await replay_histories([OneActivityWorkflow], [golden()])
    assert (ok.workflow_id, ok.run_id, ok.status, ok.error, ok.message) == (
        "golden-wf", golden().run_id, ReplayStatus.OK, None, "",
    )  # fmt: skip
    [changed] = await replay_histories([ChangedOneActivityWorkflow], [golden()])
    assert changed.status is ReplayStatus.NONDETERMINISM and not changed.ok
    assert changed.message.startswith("[TMPRL1100] Nondeterminism error")
    assert "\n" not in changed.message


async def test_replay_of_an_unregistered_type_fails() -> None:
    from tests.integration.sdk.kafka_tools_workflows import Greeting

    [result] = await replay_histories([Greeting], [golden()])
    assert result.status is ReplayStatus.FAILED
    assert "OneActivityWorkflow is not registered" in result.message


def test_result_message_unwraps_the_cores_rendering() -> None:
    error = RuntimeError(
        "Workflow activation completion failed: Failure { failure: Some(Failure { message: "
        '"[TMPRL1100] it said \\"no\\"\\nthen stopped", source: "", stack_trace: "x" }) }'
    )
    result = ReplayResult("wf", "run", ReplayStatus.NONDETERMINISM, error)
    assert result.message == '[TMPRL1100] it said "no" then stopped'
    plain = ReplayResult("wf", "run", ReplayStatus.FAILED, ValueError("bad\n  input"))
    assert plain.message == "bad input"


def test_results_text_and_json() -> None:
    results = [
        ReplayResult("a", "r1", ReplayStatus.OK),
        ReplayResult("b", "r2", ReplayStatus.NONDETERMINISM, RuntimeError("changed")),
    ]
    assert format_results(results).splitlines() == [
        "OK              a  run r1",
        "NONDETERMINISM  b  run r2: changed",
        "2 replayed, 1 failed",
    ]
    assert json.loads(format_results(results, as_json=True)) == [
        {"workflow_id": "a", "run_id": "r1", "status": "OK", "error": None},
        {"workflow_id": "b", "run_id": "r2", "status": "NONDETERMINISM", "error": "changed"},
    ]


# -- loading workflow classes ------------------------------------------------------------------


def test_workflows_load_by_module_and_class_from_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    (tmp_path / "kafka_tools_user_flows.py").write_text(
        textwrap.dedent(
            """\
            from temporalio import workflow

            @workflow.defn(name="Custom")
            class Mine:
                @workflow.run
                async def run(self) -> None:
                    return None
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    classes = load_workflows(
        ["kafka_tools_user_flows:Mine, tests.workflows.one_activity:OneActivityWorkflow"]
    )
    assert [c.__name__ for c in classes] == ["Mine", "OneActivityWorkflow"]
    assert workflow_types(classes) == {"Custom", "OneActivityWorkflow"}
    assert workflow_types([OneActivityWorkflow, AnyWorkflow]) is None


# -- the command line --------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["replay", "wf"], "the following arguments are required: --workflows"),
        (["replay", "--workflows", "m:C"], "one of the arguments WORKFLOW_ID --all-closed"),
        (["replay", "--workflows", "m:C", "wf", "--all-closed"], "not allowed with"),
        (["history"], "the following arguments are required: WORKFLOW_ID"),
        (["topics", "--timeout", "0"], "must be positive"),
        (["topics", "--timeout", "soon"], "not a number"),
        (["replay", "--workflows", "nocolon", "wf"], "wants MODULE:CLASS, got 'nocolon'"),
        (["replay", "--workflows", "m:C,", "wf"], "wants MODULE:CLASS, got ''"),
        (["replay", "--workflows", "no_such_module_x:C", "wf"], "cannot import 'no_such_module_x'"),
        (
            ["replay", "--workflows", "tests.workflows.activities:Nope", "wf"],
            "module 'tests.workflows.activities' has no attribute 'Nope'",
        ),
        (
            ["replay", "--workflows", "tests.workflows.activities:greet", "wf"],
            "tests.workflows.activities:greet is not a workflow class",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["topics"],
        ["history", "wf"],
        ["replay", "--workflows", "tests.workflows.one_activity:OneActivityWorkflow", "wf"],
        [
            "replay",
            "--workflows",
            "tests.workflows.one_activity:OneActivityWorkflow",
            "--all-closed",
        ],
    ],
)
def test_an_unreachable_broker_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    code, out, err = run_cli(capsys, *argv, "--bootstrap", bootstrap, "--timeout", "1")
    assert code == 1
    assert out == ""
    prefix = f"strom {argv[0]}: cannot reach Kafka at {bootstrap} within 1 s ("
    assert err.startswith(prefix) and err.endswith(")\n") and err.count("\n") == 1, err


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("server", "topics", "history", "replay"):
        assert f"    {command} " in out
    for command, words in (
        ("topics", "lag"),
        ("history", "--run-id"),
        ("replay", "--all-closed"),
    ):
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0 and words in out and "--bootstrap" in out and "--prefix" in out
