"""The sidecar next to one Camel JVM: trace capture, sampling, redaction, buffering and replay."""
