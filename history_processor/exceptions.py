"""Exceptions of the history processor's pure state machine."""


class HistoryError(Exception):
    """Base class of the history processor's errors."""


class TaskTokenError(HistoryError):
    """A task token could not be decoded (garbage, truncated or of an unknown version)."""


class StateCodecError(HistoryError):
    """Serialized execution state or a state update could not be decoded."""


class FoldError(HistoryError):
    """An event or update cannot be applied to the state (non-contiguous id, wrong run)."""
