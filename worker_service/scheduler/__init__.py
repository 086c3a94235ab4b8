"""The scheduler system workflow: one run per schedule, taking its actions (as Temporal's)."""
