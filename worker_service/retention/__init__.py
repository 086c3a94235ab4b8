"""Retention and namespace reclaim: system workflows that delete closed and orphaned runs."""
