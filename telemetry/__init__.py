"""Camel exchange capture (sidecar), ingestion and the telemetry store."""
