"""Exceptions of the history processor's pure state machine."""


class HistoryError(Exception):
    """Base class of the history processor's errors."""


class FoldError(HistoryError):
    """An event or update cannot be applied to the state (non-contiguous id, wrong run)."""
