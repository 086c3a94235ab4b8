"""Fetches the Kafka jars and the Elasticsearch zip from Maven Central into the cache, atomically.

Every fetch works in a temporary directory next to its final place, writes the completion
marker last, and renames the directory into place; an interrupted fetch therefore never leaves a
half cache behind. A lock file serialises concurrent fetches of the same install (the CLI and a
test session, or DevCluster's threads).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from strom._devserver.errors import FetchFailedError, MavenNotFoundError
from strom._devserver.paths import COMPLETE_MARKER, is_complete

log = logging.getLogger("strom.devserver")

KAFKA_POM = "kafka-pom.xml"
ELASTICSEARCH_POM = "elasticsearch-pom.xml"
_MVN_TAIL_LINES = 25
_MVN_TIMEOUT_S = 1800.0


def package_file(name: str) -> Path:
    """Returns the path of a data file shipped in this package (poms, log4j2 config)."""
    return Path(str(resources.files("strom._devserver").joinpath(name)))


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_atomically(final: Path, populate: Callable[[Path], None]) -> bool:
    """Builds `final` once: `populate(tmp)` fills a temp dir that is then renamed into place.

    Args:
        final: The install directory; complete when it holds the marker file.
        populate: Fills the given empty directory; raises on failure.

    Returns:
        True when this call fetched, False when the cache was already complete.
    """
    if is_complete(final):
        return False
    with _locked(final.parent / f".{final.name}.lock"):
        if is_complete(final):  # another process finished while we waited for the lock
            return False
        # Holding the lock, anything left over is from a killed fetch: clear it.
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if final.exists():
            shutil.rmtree(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            populate(tmp)
            (tmp / COMPLETE_MARKER).write_text(f"fetched {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
            tmp.chmod(0o755)  # mkdtemp makes it 0700; the ES user must be able to read it
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return True


def run_maven(pom: Path, goal_args: list[str], what: str) -> None:
    """Runs `mvn -q -B -f <pom> <goal_args>` and raises a clear error on failure.

    Raises:
        MavenNotFoundError: `mvn` is not on PATH.
        FetchFailedError: Maven failed; the message holds the end of its output.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFoundError(
            f"Maven (`mvn`) is needed once to download {what} from Maven Central, but it is "
            "not on PATH. Install Maven 3.6+ (for example `apt-get install maven`) and retry."
        )
    argv = [mvn, "-q", "-B", "-f", str(pom), *goal_args]
    log.info("Fetching %s from Maven Central (first run only)...", what)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_MVN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchFailedError(
            f"Fetching {what} with Maven took longer than {_MVN_TIMEOUT_S:.0f} s; "
            "check the network and retry."
        ) from exc
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-_MVN_TAIL_LINES:])
        raise FetchFailedError(
            f"Fetching {what} failed (`{' '.join(argv)}` exited with {done.returncode}). "
            "Check the network / Maven settings (~/.m2/settings.xml) and retry. "
            f"Last lines of Maven's output:\n{tail}"
        )
    log.info("Fetched %s in %.1f s", what, time.monotonic() - started)


def fetch_kafka(final: Path) -> bool:
    """Makes sure `final/libs` holds the broker's jars; returns True if it fetched now."""

    def populate(tmp: Path) -> None:
        run_maven(
            package_file(KAFKA_POM),
            [
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp / 'libs'}",
                "-DincludeScope=runtime",
            ],
            "the Kafka broker jars",
        )
        if not any((tmp / "libs").glob("kafka_2.13-*.jar")):
            raise FetchFailedError(f"Maven finished but no kafka_2.13 jar is in {tmp / 'libs'}.")

    return install_atomically(final, populate)


def fetch_elasticsearch(final: Path) -> bool:
    """Makes sure `final` holds the unpacked Elasticsearch; returns True if it fetched now."""

    def populate(tmp: Path) -> None:
        download = tmp / "download"
        run_maven(
            package_file(ELASTICSEARCH_POM),
            [
                "dependency:copy-dependencies",
                f"-DoutputDirectory={download}",
                "-DincludeTypes=zip",
                "-DexcludeTransitive=true",
            ],
            "the Elasticsearch zip",
        )
        zips = sorted(download.glob("elasticsearch-*.zip"))
        if not zips:
            raise FetchFailedError(f"Maven finished but no elasticsearch zip is in {download}.")
        unzip_flat(zips[0], tmp)
        shutil.rmtree(download)

    return install_atomically(final, populate)


def unzip_flat(archive: Path, dest: Path) -> None:
    """Unpacks `archive` into `dest`, dropping its single top folder and keeping file modes.

    `zipfile` alone loses the executable bits that `bin/elasticsearch` needs.
    """
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts[1:]
            if not parts or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            mode = (info.external_attr >> 16) & 0o777
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            if mode:
                target.chmod(mode | stat.S_IRUSR)
