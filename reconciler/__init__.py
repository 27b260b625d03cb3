"""Git source, triggers, the reconcile pipeline, previews, pins and the control-plane state."""
