"""Temporal's default size limits on what a workflow task's commands may carry."""

BLOB_SIZE_LIMIT_ERROR = 2 * 1024 * 1024
"""``limit.blobSize.error``: payloads of one command (a larger one terminates the run)."""

MEMO_SIZE_LIMIT_ERROR = 2 * 1024 * 1024
"""``limit.memoSize.error``: the run's whole memo after an upsert."""

MAX_ID_LENGTH = 1000
"""``limit.maxIDLength``: names such as a marker's."""
