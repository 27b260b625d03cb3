"""The control plane's JSON API under /api/v1 (aiohttp), the Git webhook receiver and /metrics."""
