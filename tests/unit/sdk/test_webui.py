"""Unit tests of the Web UI launcher: its config, the one-time Go build and its errors, start/stop.

A fake `go` and a fake UI server (a few lines of Python answering /healthz) stand in for the
real ones, so these run without Go, network or a browser.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from strom import cli
from strom._devserver import FetchFailedError, PortInUseError, free_port
from strom._devserver import webui as webui_module
from strom._devserver.errors import GoNotFoundError
from strom._devserver.paths import COMPLETE_MARKER
from strom._devserver.webui import (
    UI_SERVER_MODULE,
    UI_SERVER_VERSION,
    WebUi,
    build_ui_server,
    render_ui_config,
    start_web_ui,
    ui_server_home,
)

pytestmark = pytest.mark.timeout(60)

# Stands in for the UI server: reads the port from the config named by -r/-c/-e, then answers.
_FAKE_SERVER = """\
#!{python}
import http.server, pathlib, sys
args = dict(zip(sys.argv[1:-1:2], sys.argv[2:-1:2]))
assert sys.argv[-1] == "start", sys.argv
config = pathlib.Path(args["-r"], args["-c"], args["-e"] + ".yaml").read_text()
port = int(next(l.split(":")[1] for l in config.splitlines() if l.startswith("port:")))
print("fake ui-server on", port, "for", config.splitlines()[1], flush=True)
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{{"status":"OK"}}')
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


@pytest.fixture
def strom_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STROM_HOME", str(home))
    return home


@pytest.fixture
def no_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(webui_module, "FALLBACK_GO", ())


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)
    return path


def _fake_go(bin_dir: Path, body: str) -> None:
    _script(bin_dir / "go", "#!/bin/sh\n" + textwrap.dedent(body))


def _fake_install(strom_home: Path) -> None:
    home = ui_server_home()
    _script(home / "server", _FAKE_SERVER.format(python=sys.executable))
    (home / COMPLETE_MARKER).write_text("fake\n")


# --- config --------------------------------------------------------------------------------------


def test_the_config_points_at_the_frontend_and_listens_on_loopback_only() -> None:
    lines = render_ui_config("127.0.0.1:7233", 18080).splitlines()

    assert 'temporalGrpcAddress: "127.0.0.1:7233"' in lines
    assert 'host: "127.0.0.1"' in lines and "port: 18080" in lines
    assert "enableUi: true" in lines  # the server's default is false: no UI without it
    assert "disableNewsFetch: true" in lines and "notifyOnNewVersion: false" in lines
    # The page's own origins, under either loopback name, may call the UI's API.
    origins = lines[lines.index("  allowOrigins:") + 1 :]
    assert origins == ['    - "http://127.0.0.1:18080"', '    - "http://localhost:18080"']


# --- building ------------------------------------------------------------------------------------


def test_without_go_the_error_says_what_the_ui_is_and_how_to_get_go(
    strom_home: Path, no_go: None
) -> None:
    with pytest.raises(GoNotFoundError) as raised:
        build_ui_server(ui_server_home())
    message = str(raised.value)
    assert "Temporal Web UI" in message and "`go` is not on PATH" in message
    assert "https://go.dev/dl/" in message
    assert not ui_server_home().exists()


def test_a_cached_build_needs_no_go(strom_home: Path, no_go: None) -> None:
    _fake_install(strom_home)

    assert build_ui_server(ui_server_home()) is False


def test_the_build_runs_go_install_once_into_the_cache(
    tmp_path: Path, strom_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls"
    _fake_go(
        tmp_path / "bin",
        f"""\
        echo "$@" >> {calls}
        printf '#!/bin/sh\\necho built\\n' > "$GOBIN/server" && chmod +x "$GOBIN/server"
        """,
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    assert build_ui_server(ui_server_home()) is True
    assert build_ui_server(ui_server_home()) is False

    assert calls.read_text() == f"install {UI_SERVER_MODULE}/cmd/server@{UI_SERVER_VERSION}\n"
    assert os.access(ui_server_home() / "server", os.X_OK)
    assert (ui_server_home() / COMPLETE_MARKER).is_file()


def test_a_failed_build_reports_gos_last_lines_and_leaves_no_cache(
    tmp_path: Path, strom_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_go(
        tmp_path / "bin",
        'for i in $(seq 1 40); do echo "go: line $i"; done\n'
        'echo "go: go.mod requires go >= 1.26.5 (running go 1.22.0)"\nexit 1\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    with pytest.raises(FetchFailedError) as raised:
        build_ui_server(ui_server_home())
    message = str(raised.value)
    assert "requires go >= 1.26.5" in message and "go: line 40" in message
    assert "go: line 1\n" not in message
    assert [p.name for p in strom_home.iterdir()] == [f".ui-server-{UI_SERVER_VERSION}.lock"]


# --- running -------------------------------------------------------------------------------------


def test_a_taken_port_names_the_flags_that_avoid_it(tmp_path: Path, strom_home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=r"--ui-port.*--headless"):
            WebUi(tmp_path, "127.0.0.1:7233", port).check_prerequisites()


def test_the_ui_starts_on_its_config_logs_to_the_data_dir_and_stops(
    tmp_path: Path, strom_home: Path
) -> None:
    _fake_install(strom_home)
    ui = WebUi(tmp_path / "data", "127.0.0.1:17233", free_port())
    try:
        ui.start()
        ui.wait_ready(timeout=30)
        with urllib.request.urlopen(f"{ui.url}/healthz", timeout=5) as answer:
            assert answer.status == 200
        assert ui.running
    finally:
        ui.stop()
    assert not ui.running
    log = (tmp_path / "data" / "logs" / "ui.log").read_text()
    assert f"fake ui-server on {ui.port}" in log and "127.0.0.1:17233" in log


def test_start_dev_goes_on_without_the_ui_when_go_is_missing(
    tmp_path: Path, strom_home: Path, no_go: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="strom.devserver"):
        assert start_web_ui(tmp_path, "127.0.0.1:7233", free_port()) is None

    [warning] = caplog.records
    assert "without the Temporal Web UI" in warning.getMessage()
    assert "Install Go" in warning.getMessage() and "\n" not in warning.getMessage()


def test_start_dev_help_offers_the_ui_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["server", "start-dev", "--help"])
    out = capsys.readouterr().out
    assert "--ui-port" in out and "--headless" in out and "Web UI" in out
