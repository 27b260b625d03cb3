"""The `local` driver: each integration of a bundle rendered for the local target runs as
supervised Camel Main processes on this host, behind a stable loopback port."""

from runner.drivers.local.driver import LocalDriver, LocalSettings

__all__ = ["LocalDriver", "LocalSettings"]
