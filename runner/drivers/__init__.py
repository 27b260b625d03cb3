"""Drivers: the places a runner can run integrations (`kubernetes`, `local`)."""
