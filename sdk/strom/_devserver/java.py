"""Finds the Java runtime the dev servers run on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from strom._devserver.errors import JavaNotFoundError

# Elasticsearch's integ-test zip has no bundled JDK; this one is known to work with it.
FALLBACK_JAVA_HOMES: Sequence[str] = ("/usr/lib/jvm/java-17-openjdk-amd64",)

_INSTALL_HINT = (
    "Install a JDK 17 or newer (for example `apt-get install openjdk-17-jdk-headless`) "
    "or point JAVA_HOME at one."
)


def _java_in(home: Path) -> Path | None:
    java = home / "bin" / "java"
    return java if java.is_file() and os.access(java, os.X_OK) else None


def find_java_home(
    environ: Mapping[str, str] | None = None,
    variables: Sequence[str] = ("ES_JAVA_HOME", "JAVA_HOME"),
    fallbacks: Sequence[str] | None = None,
) -> Path:
    """Returns a Java home: the first variable set, a fallback dir, or the `java` on PATH.

    Args:
        environ: The environment to read; `os.environ` when omitted.
        variables: Environment variables to try in order; one that is set must be valid.
        fallbacks: Directories to try next; `FALLBACK_JAVA_HOMES` when omitted.

    Raises:
        JavaNotFoundError: A variable names a directory without `bin/java`, or nothing is found.
    """
    env = os.environ if environ is None else environ
    for name in variables:
        value = env.get(name)
        if value:
            if _java_in(Path(value)) is None:
                raise JavaNotFoundError(
                    f"{name}={value} has no executable bin/java. Fix or unset {name}. "
                    + _INSTALL_HINT
                )
            return Path(value)
    for candidate in FALLBACK_JAVA_HOMES if fallbacks is None else fallbacks:
        if _java_in(Path(candidate)) is not None:
            return Path(candidate)
    on_path = shutil.which("java", path=env.get("PATH", ""))
    if on_path is not None:
        # /usr/bin/java is usually a chain of symlinks into the JDK's bin/ directory.
        return Path(on_path).resolve().parent.parent
    raise JavaNotFoundError("No Java runtime found (checked JAVA_HOME and PATH). " + _INSTALL_HINT)


def find_java(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the `java` executable Kafka runs on: JAVA_HOME's, else the one on PATH.

    Raises:
        JavaNotFoundError: No Java runtime is found.
    """
    home = find_java_home(environ, variables=("JAVA_HOME",), fallbacks=())
    java = _java_in(home)
    assert java is not None  # find_java_home only returns homes with bin/java
    return java
