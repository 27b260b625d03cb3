"""The `kubernetes` driver: server-side apply, inventory ConfigMaps, pruning, health and drift
against an API server; the only user of the kubernetes client (`client.py`)."""
