"""Integration tests of the matching processor on a real Kafka broker."""
