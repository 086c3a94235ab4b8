"""start-dev on a dev broker that requires SASL/PLAIN: every service logs in and a workflow
runs; a wrong password stops start-dev at once with librdkafka's reason."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from temporalio.client import Client
from temporalio.worker import Worker

from strom._devserver import free_port
from strom._devserver.security import CLIENT_PROPERTIES
from strom.cli import READY_BANNER
from tests.integration.sdk.test_devserver import free_port_and, processes_mentioning
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(900)]
_USER, _PASSWORD = "strom", "s3cret-pw"


def _argv(data_dir: Path, kafka_port: int, es_port: int, port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "strom.cli", "server", "start-dev", "--headless",
        "--data-dir", str(data_dir), "--kafka-port", str(kafka_port),
        "--es-port", str(es_port), "--port", str(port), "--http-port", "0",
        "--metrics-port", "0", "--kafka-sasl-user", f"{_USER}:{_PASSWORD}", *extra,
    ]  # fmt: skip


def _cmdlines(data_dir: Path) -> list[str]:
    lines = []
    for pid in processes_mentioning(data_dir):
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return lines


def _metadata(bootstrap: str, **settings: str) -> object:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, **settings})
    return admin.list_topics(timeout=10)


async def _run_workflow(target: str) -> str:
    client = await Client.connect(target)
    tq = f"sasl-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=tq, workflows=[OneActivityWorkflow], activities=[greet]):
        result: str = await client.execute_workflow(
            OneActivityWorkflow.run, "sasl", id=f"sasl-{uuid.uuid4().hex[:8]}", task_queue=tq
        )
    return result


def _stop(cli: subprocess.Popen[str]) -> None:
    if cli.poll() is None:
        cli.terminate()  # SIGTERM: the CLI stops what it started
        try:
            cli.wait(timeout=120)
        except subprocess.TimeoutExpired:
            cli.kill()
            cli.wait()


def test_start_dev_over_sasl_and_a_wrong_password(tmp_path: Path) -> None:
    kafka_port, es_port, port = free_port(count=2), free_port_and(100), free_port()
    bootstrap = f"127.0.0.1:{kafka_port}"
    cli = subprocess.Popen(
        [*_argv(tmp_path, kafka_port, es_port, port), "--fresh"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    drain = threading.Thread(target=lambda: stderr.extend(cli.stderr or []), daemon=True)
    drain.start()
    try:
        assert cli.stdout is not None
        banner = ""
        for line in cli.stdout:
            banner += line
            if line.startswith("Press Ctrl-C"):
                break
        assert READY_BANNER in banner, f"no banner; stderr:\n{''.join(stderr)}"
        # The broker really requires SASL: a plaintext client gets no metadata ...
        with pytest.raises(KafkaException):
            _metadata(bootstrap)
        login = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
        assert (
            "strom.history.inbox"
            in _metadata(  # type: ignore[attr-defined]
                bootstrap, **login, **{"sasl.username": _USER, "sasl.password": _PASSWORD}
            ).topics
        )
        # ... and every Kafka service got the settings file, without the password in sight.
        properties = tmp_path / CLIENT_PROPERTIES
        commands = _cmdlines(tmp_path)
        services = []
        kafka_modules = ("history_processor", "visibility_indexer")
        # The frontend runs with a matching member in its process (the composition root).
        for module in (*kafka_modules, "strom._frontend_with_matching", "worker_service"):
            (line,) = [c for c in commands if f"-m {module} " in c]
            assert f"--kafka-config-file {properties}" in line
            services.append(line)
        assert all(_PASSWORD not in line for line in services)
        # A workflow needs history, matching and the frontend, each over SASL.
        assert asyncio.run(_run_workflow(f"127.0.0.1:{port}")) == "Hello, sasl!"
        cli.terminate()
        assert cli.wait(timeout=120) == 0
    finally:
        _stop(cli)

    # The same cluster, the right user with a wrong password: start-dev says why and exits.
    wrong = subprocess.run(
        _argv(tmp_path, kafka_port, es_port, port, "--kafka-config", "sasl.password=wrong"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert wrong.returncode == 1
    assert f"strom: error: Kafka at {bootstrap} refused Strom's credentials" in wrong.stderr
    assert "Authentication failed" in wrong.stderr  # librdkafka's reason
    assert "Traceback" not in wrong.stderr
    assert processes_mentioning(tmp_path) == []
