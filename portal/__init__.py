"""The read-mostly web portal (aiohttp + jinja2 + htmx)."""
