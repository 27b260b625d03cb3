"""The wire contract shared by the control plane and runners (pydantic, frozen, extra=forbid)."""
