"""Per-partition state stores (RocksDB and in-memory) and their restore from a changelog."""
