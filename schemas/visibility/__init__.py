"""The visibility store: the Elasticsearch index the indexer writes and the frontend reads.

- ``template``: the index name and its mapping (the document shape).
- ``attributes``: Temporal's predefined search attributes and their value types.
- ``timefmt``: the time formats documents and queries use.
- ``sqlparse``, ``sqltree``, ``query``: Temporal's list-filter language -> Elasticsearch queries.
- ``search``: ``VisibilityReader``, which answers List/Count from the index.
- ``exceptions``: errors of the read side with the gRPC status they map to.
"""
