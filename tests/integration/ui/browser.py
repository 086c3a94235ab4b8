"""Headless Chromium driven over the DevTools protocol on a pipe, with the standard library only.

`--remote-debugging-pipe` makes Chromium read protocol messages from fd 3 and write its answers
to fd 4, each a JSON text ended by a NUL byte. A pipe needs no port and no WebSocket client.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from strom._devserver.process import stop_tree

#: Names of the browser's command, looked up on PATH; Debian's `chromium` package comes first.
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

_FLAGS = [
    "--headless",
    "--no-sandbox",  # tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1400,1000",
]

# argv: read fd, write fd, program, its arguments. Copies go above 9 first, so that moving one
# onto 3 or 4 can never overwrite the other before it is moved.
_TRAMPOLINE = """
import fcntl, os, sys
read, write = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(read, 3)
os.dup2(write, 4)
os.closerange(5, 1 << 16)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserError(Exception):
    """Chromium answered a command with an error, or did not answer in time."""


def find_chromium() -> str | None:
    """Returns the path of a Chromium binary on PATH, or None."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


class Chromium:
    """One headless Chromium process and its DevTools pipe.

    Args:
        binary: The browser to run.
        profile_dir: An empty directory for the browser's profile (`--user-data-dir`).
        log_path: Receives the browser's own stdout and stderr.
    """

    def __init__(self, binary: str, profile_dir: Path, log_path: Path) -> None:
        self.binary = binary
        self.profile_dir = profile_dir
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._to_browser = -1
        self._from_browser = -1
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> Chromium:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser expects its ends of the pipes as fds 3 and 4; a small Python trampoline
        # moves them there (sh cannot name fds above 9).
        argv = [sys.executable, "-c", _TRAMPOLINE, str(to_browser_r), str(from_browser_w)]
        argv += [self.binary, *_FLAGS]
        argv += [f"--user-data-dir={self.profile_dir}", "--remote-debugging-pipe", "about:blank"]
        with open(self.log_path, "wb") as log:
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(to_browser_r, from_browser_w),
                start_new_session=True,
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", timeout=5)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._popen is not None:
            stop_tree(self._popen, 10, "Chromium")

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Sends one protocol command and returns its result; events in between are dropped.

        Raises:
            BrowserError: The browser answered with an error, exited, or stayed silent.
        """
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline, method)
            if answer.get("id") != self._next_id:
                continue  # an event, or the answer to a command that timed out earlier
            if "error" in answer:
                raise BrowserError(f"{method} failed: {answer['error']}")
            result: dict[str, Any] = answer.get("result", {})
            return result

    def _read(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer to {method} in time; see {self.log_path}")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed its pipe; see {self.log_path}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def new_page(self) -> Page:
        """Opens a blank tab and attaches to it."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, target, session["sessionId"])


class Page:
    """One tab, addressed through its flat protocol session."""

    def __init__(self, browser: Chromium, target_id: str, session_id: str) -> None:
        self._browser = browser
        self._target = target_id
        self._session = session_id

    def close(self) -> None:
        """Closes the tab."""
        self._browser.call("Target.closeTarget", {"targetId": self._target})

    def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._browser.call(method, params, session_id=self._session)

    def navigate(self, url: str) -> None:
        """Starts loading `url`; the app renders later, so wait with `wait_for_text`."""
        answer = self._call("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"loading {url} failed: {answer['errorText']}")

    def text(self) -> str:
        """Returns the visible text of the page as rendered now."""
        result = self._call(
            "Runtime.evaluate",
            {"expression": "document.body ? document.body.innerText : ''", "returnByValue": True},
        )["result"]
        return str(result.get("value", ""))

    def wait_for_text(self, needles: list[str], timeout: float = 60.0) -> str:
        """Polls the rendered text until it contains every needle; returns that text.

        Raises:
            AssertionError: Some needle is still missing at the deadline; the message lists
                them and ends with the page's text.
        """
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            missing = [needle for needle in needles if needle not in text]
            if not missing:
                return text
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"after {timeout:.0f} s the page still lacks {missing}; its text:\n{text}"
                )
            time.sleep(0.25)

    def screenshot(self, path: Path) -> Path:
        """Saves a PNG of the viewport to `path` and returns it."""
        data = self._call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path
