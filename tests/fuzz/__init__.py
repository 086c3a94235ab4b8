"""Generators of hostile requests for fuzz tests."""
