"""Process-wide counters shared with workflow sandboxes (imported as a passthrough module)."""

from collections import Counter

_COUNTS: Counter[str] = Counter()


def bump(key: str) -> int:
    """Increments the counter `key`; returns its new value."""
    _COUNTS[key] += 1
    return _COUNTS[key]
