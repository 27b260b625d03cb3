"""Sub-command modules of the camelops CLI."""
