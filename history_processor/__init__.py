"""Strom's history processor: Temporal's history service as a pure state machine over Kafka.

The pure part (no Kafka, RocksDB, grpc or clock inside; time and ids come in as arguments):

- ``state.ExecutionState``: mutable state of one run; ``to_bytes()`` / ``from_bytes()`` (JSON,
  bytes fields base64). The event list is not in it: the caller stores events by event id.
- ``decide.decide(state, command, now_ms, new_id, read_events=...) -> model.Decision`` with
  ``model.Command(kind, command_id, namespace, namespace_id, workflow_id, payload)`` (payload
  parsed by ``schemas.inbox.parse_payload``) and ``Decision(events, updates, outbox, reply,
  state)``; ``reply`` is a ``schemas.reply.Reply``, or None for a long-poll
  GetWorkflowExecutionHistory with nothing new yet (decide it again after the run's next
  commit; on timeout answer ``reads.long_poll_timeout_reply(state, request)``) and for a
  QueryWorkflow that waits for a workflow task (``queries``: kept in memory, passed back in
  ``decide(..., queries=...)``, answered from ``query_results``). The outbox
  holds ``schemas.outbox.OutboxRecord``s (tasks, visibility, commands to any shard's inbox).
- Dispatch by tables: ``handlers.HANDLERS`` (inbox kind -> handler), ``commands.COMMAND_HANDLERS``
  (workflow command type -> handler), ``handlers.timer_fired.TIMER_HANDLERS`` (deadline kind
  -> handler).
- ``fold.apply_batch(state, events, updates) -> state``: the one way to apply a decision or a
  stored EventBatch (live and on restore; updates carry their position among the events).
- ``deadlines.deadlines(state) -> list[Deadline(fire_at_ms, kind, ref, run_id)]``: the durable
  timers of a state; when one is due the processor decides a "TimerFired" command with the
  Deadline as payload; stale ones are no-ops.
- ``optimistic``: the prepared poll response of a first-attempt workflow task.
- ``reads``: GetWorkflowExecutionHistory / DescribeWorkflowExecution answers.

The caller (processor.py) owns Kafka, RocksDB, the timer index and the clock.
"""
