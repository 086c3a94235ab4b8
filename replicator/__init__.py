"""Strom's replicator: a standby cluster reads the active cluster's events topic and applies it.

Temporal replicates a global namespace by streaming replication tasks from the active
cluster's history to the standby's, which applies the events with version checks and no task
processing. Strom's history already is a stream: every committed batch of every execution is
a record of ``<active>.history.events``. The replicator of a standby cluster reads that topic
from the active cluster's Kafka, keeps the batches of global namespaces that list the standby,
and hands each to the standby's history as a ReplicateEvents inbox command; history folds it
verbatim (`history_processor/handlers/replicate_events.py`), so the standby's changelog,
mutable state, history reads and visibility equal the active cluster's, while its standby
mode keeps it from deciding, dispatching or firing timers (`history_processor/standby.py`).

As in Temporal, every cluster replicates every global namespace from every other cluster,
whichever is active: a failover made on either cluster reaches the other as a namespace
record with a higher failover version (`rules.namespace_copy`), the old active cluster
turns standby, and the new active's batches flow back to it, so a fail-back continues the
workflows from the last replicated state. A cluster's events topic holds the batches it
folded from the others as well as its own; a replicator takes only those its source wrote
(`rules.written_by`), so nothing comes back to the cluster that wrote it. `service` runs
one replicator per remote-cluster record (what `strom server start-dev` starts).

Why not MirrorMaker 2: MM2 copies topics byte for byte with their offsets into renamed
topics. Strom would still need this process on top of it, because

- it cannot filter by namespace: a batch's namespace is inside the Avro value, and only
  global namespaces listing this cluster may be copied (a local namespace of the active
  cluster must stay there, and a third cluster's namespaces are none of this one's business);
- it cannot apply Temporal's version rules: a batch older than the standby's state (written
  by a cluster that has since been failed over from) must be refused per execution, which
  needs the standby's mutable state, i.e. the history processor;
- the standby must not treat replicated records as its own inputs or outputs: mirrored
  events written into the standby's own events topic would bypass its history processor
  (no visibility, no fold until a restore, no wake-up of waiting reads), and mirrored inbox
  or task records would make the standby decide and dispatch as if it were active;
- it adds a Kafka Connect cluster to operate for what is one consumer and one producer.

Exactly once: the replicator's position in each remote partition is a record of the local
compacted progress topic, produced in the same Kafka transaction as the inbox commands made
from the records before it (`loop.Replicator` lists the steps). Kafka's own offset commit
cannot be used: it stores offsets in the cluster of the transaction, and the local cluster
has no topic of that name to commit offsets for.
"""
