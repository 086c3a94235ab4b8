"""Strom: a Temporal-compatible durable-execution server whose storage is Apache Kafka."""

__all__: list[str] = []
