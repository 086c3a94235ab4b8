"""Exceptions raised while fetching, starting and checking the dev Kafka and Elasticsearch."""

from __future__ import annotations


class DevServerError(Exception):
    """Base class: something the developer can fix; the message says what and how."""


class JavaNotFoundError(DevServerError):
    """No usable Java runtime was found."""


class PortInUseError(DevServerError):
    """A port the node must listen on is already taken."""


class MavenNotFoundError(DevServerError):
    """The `mvn` command needed to fetch the jars is not installed."""


class GoNotFoundError(DevServerError):
    """The `go` command needed to build the Temporal Web UI once is not installed."""


class FetchFailedError(DevServerError):
    """Maven or Go (or unpacking a download) failed; the cache was left untouched."""


class KafkaFormatError(DevServerError):
    """`kafka.tools.StorageTool format` failed on the data directory."""


class UserSetupError(DevServerError):
    """The unprivileged user that runs Elasticsearch under root could not be prepared."""


class ProcessExitedError(DevServerError):
    """The server process exited before it became healthy."""


class NotHealthyError(DevServerError):
    """The server process runs but did not become healthy within the timeout."""
