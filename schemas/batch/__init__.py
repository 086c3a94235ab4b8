"""Batch operations: the names and input the frontend's batch RPCs and the batcher share."""
