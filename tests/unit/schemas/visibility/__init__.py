"""Unit tests of visibility_indexer."""
