"""Dead letters as a system workflow: list the cluster's dead letters and replay chosen ones."""
