"""The runner's sync daemon: apply, prune, health, drift and offline enforcement."""
