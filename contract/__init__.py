"""Every message that crosses a process boundary (control plane, runner, sidecar): pydantic
models, frozen, extra=forbid. Imports nothing of ours, so every side can depend on it."""
