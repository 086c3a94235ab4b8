"""Strom's internal worker service: system workflows on the official SDK, against the frontend."""
