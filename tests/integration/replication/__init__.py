"""Multi-cluster replication on real processes."""
