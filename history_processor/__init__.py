"""Strom's history processor: Temporal's history service as a pure state machine over Kafka.

The pure part (no Kafka, RocksDB, grpc or clock inside; time and ids come in as arguments):

- ``sharding.shard_for(namespace, workflow_id, shard_count) -> int`` and
  ``sharding.tq_partition_for(workflow_id, partitions=4) -> int``.
- ``tokens.encode(TaskToken) -> bytes`` / ``tokens.decode(bytes) -> TaskToken`` (raises
  ``exceptions.TaskTokenError`` on garbage).
- ``state.ExecutionState``: mutable state of one run; ``to_bytes()`` / ``from_bytes()`` (JSON,
  bytes fields base64). The event list is not in it: the caller stores events by event id.
- ``messages.parse_payload(kind, payload_bytes)``: the parsed payload of an inbox command
  (Temporal request protos; ``messages.RecordWorkflowTaskStarted``,
  ``messages.ActivityTaskStarted`` and ``deadlines.Deadline`` for the internal kinds).
- ``decide.decide(state, command, now_ms, new_id, read_events=...) -> model.Decision`` with
  ``model.Command(kind, command_id, namespace, namespace_id, workflow_id, payload)`` and
  ``Decision(events, updates, tasks, visibility, reply)``; ``reply`` is a ``model.Reply``
  (status_code, message, payload proto, details proto), or None for a long-poll
  GetWorkflowExecutionHistory with nothing new yet (decide it again after the run's next
  commit; on timeout answer ``reads.long_poll_timeout_reply(state, request)``).
  ``read_events(first, next)`` returns the run's committed events with first <= id < next.
- ``fold.apply_batch(state, events, updates) -> state``: the one way to apply a decision or a
  stored EventBatch (live and on restore; updates carry their position among the events).
  ``fold.apply_event`` / ``fold.apply_update`` fold single items.
- ``eager_activities``: eager activity dispatch; RespondWorkflowTaskCompleted starts the
  activities a worker asked to run itself and returns them in ``activity_tasks`` (no task
  record for them).
- ``deadlines.deadlines(state) -> list[Deadline(fire_at_ms, kind, ref, run_id)]``: the durable
  timers of a state; when one is due submit a "TimerFired" command with the Deadline as
  payload (``Deadline.to_bytes()``); stale ones are no-ops.
- ``reads``: GetWorkflowExecutionHistory / DescribeWorkflowExecution answers (also reachable
  through ``decide``).

The caller (processor.py) owns Kafka, RocksDB, the timer index and the clock.
"""
