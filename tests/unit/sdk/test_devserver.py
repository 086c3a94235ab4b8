"""Unit tests of the dev server's logic and error paths, without network, Kafka or Elasticsearch."""

from __future__ import annotations

import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import eventually, unique_name
from strom import cli
from strom._devserver import (
    DevCluster,
    ElasticsearchNode,
    FetchFailedError,
    JavaNotFoundError,
    KafkaFormatError,
    KafkaNode,
    MavenNotFoundError,
    NotHealthyError,
    PortInUseError,
    ProcessExitedError,
    cache_root,
    default_data_dir,
    free_port,
    java,
)
from strom._devserver.elasticsearch import render_elasticsearch_yml
from strom._devserver.fetch import fetch_kafka, install_atomically, unzip_flat
from strom._devserver.kafka import new_cluster_id, render_server_properties
from strom._devserver.paths import COMPLETE_MARKER, kafka_home
from strom._devserver.process import ManagedProcess, descendants, read_stat

pytestmark = pytest.mark.timeout(60)


def _alive(pid: int) -> bool:
    stat_ = read_stat(pid)
    return stat_ is not None and stat_[2] != "Z"


@pytest.fixture
def strom_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STROM_HOME", str(home))
    return home


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# --- configuration rendering -------------------------------------------------------------------


def test_server_properties_has_single_node_kraft_settings(tmp_path: Path) -> None:
    text = render_server_properties(29092, 29093, tmp_path / "data")
    props = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:29093"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["process.roles"] == "broker,controller"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["transaction.state.log.num.partitions"] == "4"
    assert props["offsets.topic.num.partitions"] == "8"
    assert props["group.min.session.timeout.ms"] == "1000"
    assert props["transaction.max.timeout.ms"] == "900000"
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "1"
    assert not any(key.startswith("log.flush") for key in props)


def test_cluster_ids_are_kafka_style_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    for text in ids:
        assert len(text) == 22 and not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_elasticsearch_yml_keeps_the_base_and_appends_the_dev_settings(tmp_path: Path) -> None:
    text = render_elasticsearch_yml(
        "# base\ncluster.name: x\n", 9201, 9301, tmp_path / "d", tmp_path / "l"
    )

    assert text.startswith("# base\ncluster.name: x\n")
    for line in [
        "network.host: 127.0.0.1",
        "http.port: 9201",
        "transport.port: 9301",
        "discovery.type: single-node",
        "xpack.security.enabled: false",
        f"path.data: {tmp_path / 'd'}",
        f"path.logs: {tmp_path / 'l'}",
    ]:
        assert line in text.splitlines()


def test_cache_and_data_roots_follow_strom_home(tmp_path: Path) -> None:
    assert cache_root({"STROM_HOME": str(tmp_path)}) == tmp_path
    assert default_data_dir("c1", {"STROM_HOME": str(tmp_path)}) == tmp_path / "data" / "c1"
    assert cache_root({}) == Path.home() / ".cache" / "strom"


# --- finding Java --------------------------------------------------------------------------------


def _fake_jdk(root: Path) -> Path:
    _write_script(root / "bin" / "java", "exit 0\n")
    return root


def test_java_home_prefers_es_java_home_then_java_home(tmp_path: Path) -> None:
    es_jdk, jdk = _fake_jdk(tmp_path / "es-jdk"), _fake_jdk(tmp_path / "jdk")
    env = {"ES_JAVA_HOME": str(es_jdk), "JAVA_HOME": str(jdk), "PATH": ""}

    assert java.find_java_home(env, fallbacks=()) == es_jdk
    assert java.find_java_home({"JAVA_HOME": str(jdk), "PATH": ""}, fallbacks=()) == jdk
    assert java.find_java_home({"PATH": ""}, fallbacks=[str(jdk)]) == jdk


def test_java_home_falls_back_to_the_java_on_path(tmp_path: Path) -> None:
    jdk = _fake_jdk(tmp_path / "jdk")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").symlink_to(jdk / "bin" / "java")

    assert java.find_java_home({"PATH": str(tmp_path / "bin")}, fallbacks=()) == jdk


def test_a_java_home_without_java_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match=f"ES_JAVA_HOME={tmp_path}"):
        java.find_java_home({"ES_JAVA_HOME": str(tmp_path), "PATH": ""}, fallbacks=())


@pytest.mark.parametrize("node_class", [KafkaNode, ElasticsearchNode])
def test_start_without_java_says_how_to_install_it(
    node_class: type[KafkaNode] | type[ElasticsearchNode],
    tmp_path: Path,
    strom_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.setattr(java, "FALLBACK_JAVA_HOMES", ())
    node = node_class(tmp_path / "data", free_port(), free_port())

    with pytest.raises(JavaNotFoundError, match="JDK 17"):
        node.start()
    assert not (tmp_path / "data").exists()
    assert not strom_home.exists()


# --- ports ---------------------------------------------------------------------------------------


def test_kafka_refuses_a_taken_port_and_names_the_alternatives(
    tmp_path: Path, strom_home: Path, listening: socket.socket
) -> None:
    port = listening.getsockname()[1]

    with pytest.raises(PortInUseError) as raised:
        KafkaNode(tmp_path, port=port, controller_port=free_port()).start()
    message = str(raised.value)
    assert f"Port {port} (Kafka client listener)" in message
    assert "STROM_KAFKA_BOOTSTRAP" in message and "--kafka-port" in message

    with pytest.raises(PortInUseError, match=f"Port {port} \\(Kafka controller listener\\)"):
        KafkaNode(tmp_path, port=free_port(), controller_port=port).start()
    assert not strom_home.exists()


def test_elasticsearch_refuses_a_taken_port(
    tmp_path: Path, strom_home: Path, listening: socket.socket
) -> None:
    port = listening.getsockname()[1]

    with pytest.raises(
        PortInUseError, match=f"Port {port} \\(Elasticsearch HTTP port\\)"
    ) as raised:
        ElasticsearchNode(tmp_path, http_port=port, transport_port=free_port()).start()
    assert "STROM_ES_URL" in str(raised.value) and "--es-port" in str(raised.value)


def test_dev_cluster_checks_ports_before_downloading(
    tmp_path: Path, strom_home: Path, listening: socket.socket
) -> None:
    port = listening.getsockname()[1]

    with pytest.raises(PortInUseError), DevCluster(tmp_path, kafka_port=free_port(), es_port=port):
        pass
    assert not strom_home.exists()


def test_free_port_finds_consecutive_free_ports() -> None:
    port = free_port(count=2)
    for candidate in (port, port + 1):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", candidate))  # raises OSError if the port were taken
            assert sock.getsockname()[1] == candidate


# --- processes -----------------------------------------------------------------------------------


def test_a_process_that_exits_early_reports_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "Fake",
        ["sh", "-c", "echo starting; echo 'fatal: bad config' >&2; exit 3"],
        tmp_path / "fake.log",
    )
    proc.start()
    try:
        with pytest.raises(ProcessExitedError) as raised:
            proc.wait_ready(lambda: False, timeout=30)
    finally:
        proc.stop()
    message = str(raised.value)
    assert "Fake exited with code 3" in message
    assert "fatal: bad config" in message and str(tmp_path / "fake.log") in message


def test_a_process_that_never_gets_healthy_times_out_with_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "Fake", ["sh", "-c", "echo waiting forever; exec sleep 300"], tmp_path / "fake.log"
    )
    proc.start()
    try:
        with pytest.raises(NotHealthyError, match="did not become healthy within 1 s") as raised:
            proc.wait_ready(lambda: False, timeout=1)
        assert "waiting forever" in str(raised.value)
        assert proc.running
    finally:
        proc.stop()
    assert not proc.running


def test_stop_kills_the_group_and_descendants_in_other_sessions(tmp_path: Path) -> None:
    # `setsid` mimics `su -c`, which runs its command in a new session, out of our group.
    script = _write_script(
        tmp_path / "tree.sh", "sleep 300 &\nsetsid sleep 301 &\ntrap '' TERM\nwait\n"
    )
    proc = ManagedProcess("Tree", [str(script)], tmp_path / "tree.log")
    proc.start()
    leader = proc.pid
    assert leader is not None
    try:
        # Until `setsid` has run, its child is still in the leader's session.
        tree = eventually(
            lambda: (
                len(found := descendants(leader)) >= 2
                and any(os.getsid(pid) != os.getsid(leader) for pid, _ in found)
                and found
            )
        )
        proc.stop(timeout=2)  # the leader ignores SIGTERM: SIGKILL must follow
    finally:
        proc.stop()
    assert not any(_alive(pid) for pid, _ in tree)
    proc.stop()  # idempotent


def test_a_restart_keeps_the_previous_log(tmp_path: Path) -> None:
    for word in ("first", "second"):
        proc = ManagedProcess("Echo", ["echo", word], tmp_path / "echo.log")
        proc.start()
        eventually(lambda p=proc: p.poll() is not None)  # echo wrote and exited
        proc.stop()
    assert (tmp_path / "echo.log").read_text() == "second\n"
    assert (tmp_path / "echo.log.1").read_text() == "first\n"


# --- Kafka node on a fake install (real java, missing classes) ------------------------------------


def _fake_kafka_install(strom_home: Path) -> None:
    home = kafka_home({"STROM_HOME": str(strom_home)})
    (home / "libs").mkdir(parents=True)
    (home / COMPLETE_MARKER).write_text("test\n")


def test_a_failed_storage_format_is_reported(tmp_path: Path, strom_home: Path) -> None:
    _fake_kafka_install(strom_home)
    port = free_port(count=2)

    with pytest.raises(KafkaFormatError, match=r"kafka\.tools\.StorageTool"):
        KafkaNode(tmp_path / "k", port=port, controller_port=port + 1).start()
    assert not (tmp_path / "k" / "cluster.id").exists()


def test_a_broker_that_exits_early_is_reported_with_its_log(
    tmp_path: Path, strom_home: Path
) -> None:
    _fake_kafka_install(strom_home)
    (tmp_path / "k" / "data").mkdir(parents=True)
    (tmp_path / "k" / "data" / "meta.properties").write_text("# formatted earlier\n")
    port = free_port(count=2)
    node = KafkaNode(tmp_path / "k", port=port, controller_port=port + 1)

    node.start()
    try:
        with pytest.raises(ProcessExitedError) as raised:
            node.wait_ready(timeout=30)
    finally:
        node.stop()
    assert "Kafka exited with code" in str(raised.value)
    assert "kafka.Kafka" in str(raised.value)  # the JVM's "could not find main class" line
    assert str(node.log_path) in str(raised.value)


# --- fetching ------------------------------------------------------------------------------------


def test_fetch_without_maven_says_how_to_install_it(
    tmp_path: Path, strom_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(MavenNotFoundError, match="apt-get install maven"):
        KafkaNode(tmp_path / "k").ensure_installed()
    assert not kafka_home().exists()


def test_a_failed_fetch_reports_mavens_last_lines_and_leaves_no_cache(
    tmp_path: Path, strom_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_script(
        tmp_path / "bin" / "mvn",
        'for i in $(seq 1 60); do echo "line $i"; done\necho "[ERROR] Could not resolve"\nexit 1\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    with pytest.raises(FetchFailedError) as raised:
        fetch_kafka(kafka_home())
    message = str(raised.value)
    assert "[ERROR] Could not resolve" in message and "line 60" in message
    assert "line 1\n" not in message
    assert [p.name for p in strom_home.iterdir()] == [".kafka-4.1.1.lock"]


def test_a_fetch_is_renamed_into_place_once_and_reused(
    tmp_path: Path, strom_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls"
    _write_script(
        tmp_path / "bin" / "mvn",
        f"""\
        echo called >> {calls}
        for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${{arg#*=}}";; esac; done
        mkdir -p "$out" && touch "$out/kafka_2.13-4.1.1.jar"
        """,
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    assert fetch_kafka(kafka_home()) is True
    assert fetch_kafka(kafka_home()) is False
    assert (kafka_home() / "libs" / "kafka_2.13-4.1.1.jar").is_file()
    assert (kafka_home() / COMPLETE_MARKER).is_file()
    assert calls.read_text() == "called\n"


def test_an_interrupted_fetch_leaves_no_half_cache(tmp_path: Path) -> None:
    final = tmp_path / "install"

    def populate(tmp: Path) -> None:
        (tmp / "half.jar").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install_atomically(final, populate)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".install.lock"]


def test_unzip_drops_the_top_folder_and_keeps_executable_bits(tmp_path: Path) -> None:
    archive = tmp_path / "es.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        run = zipfile.ZipInfo("elasticsearch-1/bin/run")
        run.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(run, "#!/bin/sh\n")
        zf.writestr("elasticsearch-1/config/a.yml", "a: 1\n")

    unzip_flat(archive, tmp_path / "out")

    assert os.access(tmp_path / "out" / "bin" / "run", os.X_OK)
    assert (tmp_path / "out" / "config" / "a.yml").read_text() == "a: 1\n"


# --- command line --------------------------------------------------------------------------------


def test_help_describes_start_dev(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["server", "start-dev", "--help"])
    out = capsys.readouterr().out
    assert raised.value.code == 0
    options = ("--fresh", "--data-dir", "--kafka-port", "--es-port", "--port", "--http-port")
    options += ("--metrics-port", "--shards")
    for option in (*options, "Ctrl-C"):
        assert option in out


@pytest.mark.parametrize(
    ("value", "message"), [("0", "must be 1..256, got 0"), ("two", "not a whole number: 'two'")]
)
def test_a_bad_shard_count_is_a_usage_error(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["server", "start-dev", "--shards", value])
    assert raised.value.code == 2
    assert f"argument --shards: {message}" in capsys.readouterr().err


def test_cli_errors_are_one_line_messages_with_exit_code_1(
    tmp_path: Path,
    strom_home: Path,
    listening: socket.socket,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = listening.getsockname()[1]
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    code = cli.main(["server", "start-dev", "--data-dir", str(tmp_path), "--kafka-port", str(port)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"strom: error: Port {port} (Kafka client listener)")
    assert "Traceback" not in err
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


# --- test helpers --------------------------------------------------------------------------------


def test_eventually_retries_until_true_and_returns_the_value() -> None:
    attempts = []

    def check() -> int:
        attempts.append(1)
        assert len(attempts) >= 3
        return len(attempts)

    assert eventually(check, timeout=5, interval=0.01) == 3


def test_eventually_fails_with_the_last_error() -> None:
    def check() -> None:
        raise AssertionError("nope")

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"still failing after 0\.2 s.*nope") as raised:
        eventually(check, timeout=0.2, interval=0.01)
    assert isinstance(raised.value.__cause__, AssertionError)
    assert time.monotonic() - started < 5


def test_eventually_retries_falsy_results() -> None:
    with pytest.raises(AssertionError, match=r"still falsy after 0\.1 s: last result \[\]"):
        eventually(list, timeout=0.1, interval=0.01)


def test_unique_names_are_unique_and_kafka_safe() -> None:
    names = {unique_name("my topic/x") for _ in range(100)}
    assert len(names) == 100
    assert all(name.startswith("my-topic-x-") for name in names)


# --- no process left behind when the supervisor exits ---------------------------------------------

_SUPERVISOR = """
import sys, time
from pathlib import Path
from strom._devserver.process import ManagedProcess
proc = ManagedProcess("Sleeper", ["sleep", "300"], Path(sys.argv[1]))
proc.start()
print(proc.pid, flush=True)
if sys.argv[2] == "wait":
    time.sleep(300)
"""


@pytest.mark.parametrize("ending", ["exit", "sigterm"])
def test_children_die_with_the_supervisor(tmp_path: Path, ending: str) -> None:
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SUPERVISOR,
            str(tmp_path / "s.log"),
            "wait" if ending == "sigterm" else "exit",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert supervisor.stdout is not None
        child = int(supervisor.stdout.readline())
        if ending == "sigterm":
            assert _alive(child)
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=30) == -signal.SIGTERM
        else:
            assert supervisor.wait(timeout=30) == 0
    finally:
        supervisor.kill()
        supervisor.wait()
    assert not _alive(child)
