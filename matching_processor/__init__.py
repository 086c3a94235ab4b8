"""Matching: owns partitions of the tasks topic and hands tasks to long-polling workers.

Public surface for other Strom components:

- ``MatchingService`` / ``MatchingConfig`` run a matching process (``python -m
  matching_processor``).
- ``MatchingDirectory`` / ``MatchingClient`` let the frontend forward polls to the owner.
- ``routing.topic_partition_for`` / ``routing.tq_partition_for`` place tasks (used by history).
- ``messages`` holds the internal inbox messages matching sends to history.
"""
