"""Unit tests of the history processor's pure state machine."""
