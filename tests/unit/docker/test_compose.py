"""Static checks of docker/compose.yaml and docker/Dockerfile: no Docker engine runs here."""

from __future__ import annotations

import argparse
import ast
import fnmatch
import hashlib
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

from matching_processor.__main__ import config_from_args
from strom.topics import Topology
from tests.conftest import ES_IMAGE, KAFKA_IMAGE
from tests.unit.docker.compose_file import (
    COMPOSE_FILE,
    DOCKER_DIR,
    REPO,
    STROM_MODULES,
    container_argv,
    environment,
    load_compose,
    parse_service_args,
    strom_command,
)

COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The long-running Strom services: built from the Dockerfile, not the one-shot topic creator.
STROM_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s and name != "init")
# All of them are Kafka clients (the internal worker's dead-letter workflow reads topics).
KAFKA_SERVICES = STROM_SERVICES
SCALED = ("history", "matching", "indexer")
# Container hostnames as Docker makes them (12 hex digits of the container id), deterministic.
HOSTNAMES = [hashlib.sha256(str(i).encode()).hexdigest()[:12] for i in range(60)]


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as ``{NAME: (host, port)}``."""
    found = {}
    for item in value.split(","):
        name, address = item.split("://")
        host, port = address.rsplit(":", 1)
        found[name] = (host, int(port))
    return found


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Host port -> container port of the ``"HOST:CONTAINER"`` entries of ``ports``."""
    pairs = (str(entry).split(":") for entry in service.get("ports", []))
    return {int(host): int(container) for host, container in pairs}


def _args(name: str, tmp_path: Path, hostname: str = HOSTNAMES[0]) -> argparse.Namespace:
    module, args = strom_command(SERVICES[name], hostname, tmp_path)
    return parse_service_args(module, args)


def test_the_services_the_issue_names_are_defined() -> None:
    expected = {"kafka", "elasticsearch", "kibana", "kibana-setup", "init", *SCALED, "frontend"}
    assert expected <= set(SERVICES)
    assert set(STROM_SERVICES) == {"frontend", "worker", "replication", *SCALED}


def test_every_depends_on_names_a_defined_service_with_a_sound_condition() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, how in depends.items():
            assert target in SERVICES, f"{name} depends on undefined service {target}"
            condition = how["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits on {target}'s health"
            elif condition == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} must run once"
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition}"


def test_kafka_and_elasticsearch_have_healthchecks() -> None:
    for name in ("kafka", "elasticsearch"):
        check = SERVICES[name]["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1, name


def test_images_are_the_versions_the_tests_use() -> None:
    assert SERVICES["kafka"]["image"] == KAFKA_IMAGE
    assert SERVICES["elasticsearch"]["image"] == ES_IMAGE
    es_version = ES_IMAGE.rsplit(":", 1)[1]
    for name in ("kibana", "kibana-setup"):
        assert SERVICES[name]["image"] == f"docker.elastic.co/kibana/kibana:{es_version}"


@pytest.mark.parametrize("name", STROM_SERVICES)
def test_strom_service_runs_its_module_with_flags_the_module_accepts(
    name: str, tmp_path: Path
) -> None:
    module, args = strom_command(SERVICES[name], HOSTNAMES[0], tmp_path)
    assert module in STROM_MODULES
    assert (REPO / module / "__main__.py").is_file()
    parsed = parse_service_args(module, args)
    if name == "worker":
        assert parsed.frontend == "frontend:7233"  # the frontend service's gRPC port
    assert parsed.prefix == environment(SERVICES[name])["STROM_PREFIX"]


def test_the_command_reader_sees_a_rejected_flag(tmp_path: Path) -> None:
    service = {**SERVICES["history"], "command": ["sh", "-c", "exec python -m history_processor"]}
    module, args = strom_command(service, HOSTNAMES[0], tmp_path)
    with pytest.raises(AssertionError, match="rejects"):
        parse_service_args(module, args)  # --bootstrap and --state-dir are required


def test_strom_services_use_kafkas_in_network_advertised_listener(tmp_path: Path) -> None:
    kafka = environment(SERVICES["kafka"])
    advertised = _listeners(kafka["KAFKA_ADVERTISED_LISTENERS"])
    bound = _listeners(kafka["KAFKA_LISTENERS"])
    protocols = dict(
        item.split(":") for item in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(bound) <= set(protocols)
    assert kafka["KAFKA_CONTROLLER_LISTENER_NAMES"] in bound
    in_network = {f"{host}:{port}" for host, port in advertised.values() if host == "kafka"}
    for name in KAFKA_SERVICES:
        bootstrap = _args(name, tmp_path).bootstrap
        assert bootstrap in in_network, f"{name} uses {bootstrap}, Kafka advertises {advertised}"
        listener = next(n for n, (h, p) in advertised.items() if f"{h}:{p}" == bootstrap)
        assert bound[listener][1] == advertised[listener][1], f"{listener} binds another port"
    # The host's listener: advertised as localhost on the port the container publishes.
    outside = {n: p for n, (h, p) in advertised.items() if h == "localhost"}
    assert outside, "no listener for clients on the host"
    for listener, port in outside.items():
        assert _published(SERVICES["kafka"]).get(port) == bound[listener][1]


def test_strom_services_and_kibana_use_the_elasticsearch_service(tmp_path: Path) -> None:
    es = environment(SERVICES["elasticsearch"])
    assert es["xpack.security.enabled"] == "false"
    assert es["discovery.type"] == "single-node"
    for name in ("frontend", "indexer"):
        url = urlsplit(_args(name, tmp_path).es_url)
        assert (url.scheme, url.hostname, url.port) == ("http", "elasticsearch", 9200), name
    kibana = urlsplit(environment(SERVICES["kibana"])["ELASTICSEARCH_HOSTS"])
    assert (kibana.hostname, kibana.port) == ("elasticsearch", 9200)


def test_scaled_services_have_no_fixed_name_or_host_port() -> None:
    for name, service in SERVICES.items():
        assert "container_name" not in service, f"{name} could not be scaled or run twice"
    for name in SCALED:
        assert "ports" not in SERVICES[name], f"{name} would clash on its host port when scaled"


def test_frontend_serves_on_all_interfaces_at_its_published_port(tmp_path: Path) -> None:
    args = _args("frontend", tmp_path)
    assert args.host == "0.0.0.0"
    assert _published(SERVICES["frontend"]) == {7233: args.port}


def test_history_replicas_get_distinct_stable_instance_ids(tmp_path: Path) -> None:
    instances = [_args("history", tmp_path, host).instance for host in HOSTNAMES[:5]]
    assert len(set(instances)) == 5
    assert _args("history", tmp_path, HOSTNAMES[0]).instance == instances[0]  # restart: same id
    state_dir = _args("history", tmp_path).state_dir
    dockerfile = (DOCKER_DIR / "Dockerfile").read_text()
    # The image's user owns its home, where the history keeps its stores.
    assert "--home-dir /var/lib/strom" in dockerfile and "USER strom" in dockerfile
    assert PurePosixPath(state_dir).is_relative_to("/var/lib/strom")


def test_matching_replicas_are_reachable_and_reply_on_partitions_no_frontend_uses(
    tmp_path: Path,
) -> None:
    topology, _ = _init_topology(tmp_path)
    frontend_partition = _args("frontend", tmp_path).reply_partition
    partitions = []
    for host in HOSTNAMES:
        args = _args("matching", tmp_path, host)
        config = config_from_args(args, topology)
        assert (config.grpc_host, config.advertise_host) == ("0.0.0.0", host)
        assert _args("matching", tmp_path, host).reply_partition == args.reply_partition
        partitions.append(args.reply_partition)
    assert all(0 <= p < topology.reply_partitions for p in partitions), partitions
    assert frontend_partition not in partitions
    assert len(set(partitions)) >= 10, f"hostnames spread over too few partitions: {partitions}"


def _init_topology(tmp_path: Path) -> tuple[Topology, str]:
    """``(topology, bootstrap)`` the init container's Python ensures, recorded, not created."""
    argv = container_argv(SERVICES["init"], HOSTNAMES[0], tmp_path)
    assert argv[:2] == ["python", "-c"], argv
    code = argv[2]
    imports = {
        node.module for node in ast.walk(ast.parse(code)) if isinstance(node, ast.ImportFrom)
    }
    assert "strom.topics" in imports, f"init must use strom.topics.Topology: {code}"
    calls: list[tuple[Topology, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Topology, "ensure", lambda self, bootstrap: calls.append((self, bootstrap)))
        for key, value in environment(SERVICES["init"]).items():
            patch.setenv(key, value)
        exec(compile(code, "<init command>", "exec"), {})
    assert len(calls) == 1, "init must create the topics once"
    return calls[0]


def test_init_creates_the_topics_every_service_reads_first(tmp_path: Path) -> None:
    topology, bootstrap = _init_topology(tmp_path)
    assert SERVICES["init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in KAFKA_SERVICES:
        args = _args(name, tmp_path)
        assert (args.prefix, args.bootstrap) == (topology.prefix, bootstrap), name
        condition = SERVICES[name]["depends_on"]["init"]["condition"]
        assert condition == "service_completed_successfully", name


def _dockerfile_copies() -> list[str]:
    sources = []
    for line in (DOCKER_DIR / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_dockerfile_builds_from_the_repository_root_and_copies_what_pip_installs() -> None:
    build = SERVICES["init"]["build"]
    context = (DOCKER_DIR / build["context"]).resolve()
    assert context == REPO
    dockerfile = context / build["dockerfile"]
    lines = dockerfile.read_text().splitlines()
    assert [line for line in lines if line.startswith("FROM")] == ["FROM python:3.11-slim"]
    copied = _dockerfile_copies()
    for source in copied:
        assert (context / source).exists(), f"COPY {source}: not in the build context"
    ignored = (dockerfile.parent / f"{dockerfile.name}.dockerignore").read_text().split()
    for source in copied:
        assert not any(fnmatch.fnmatch(source, rule) for rule in ignored), f"{source} is ignored"
    pyproject = tomllib.loads((context / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    roots = setuptools.get("package-dir", {})
    needed = {pyproject["project"]["readme"]}
    for package in setuptools["packages"]:
        top, *rest = package.split(".")
        needed.add(str(Path(roots.get(top, top), *rest)))
    for path in needed:
        assert any(Path(path).is_relative_to(s) for s in copied), f"{path} is not copied"


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine: the static checks above stand in for it")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker CLI here has no compose plugin: the static checks stand in")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
