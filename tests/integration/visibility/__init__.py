"""Integration tests of visibility_indexer against real Elasticsearch and Kafka."""
