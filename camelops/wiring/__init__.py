"""Process wiring: how `camelops serve` and `camelops runner` compose reconciler, tunnel, runner."""
