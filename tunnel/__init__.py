"""The runner tunnel: wire contract, PKI, and the mTLS WebSocket endpoints."""
