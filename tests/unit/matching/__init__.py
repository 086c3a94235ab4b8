"""Unit tests of the matching processor."""
