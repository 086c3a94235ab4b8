"""Exceptions of the matching processor."""


class MatchingError(Exception):
    """Base class of the matching processor's errors."""


class InvalidStateError(MatchingError):
    """A task or poller was asked to do something its life-cycle state forbids."""
