"""Batch operations: the batch workflow and its activity (Temporal's service/worker/batcher)."""
