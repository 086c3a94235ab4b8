"""Workflow and activity definitions shared by golden recordings, replay and integration tests."""
