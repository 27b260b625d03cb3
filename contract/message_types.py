"""The `type` of every message on the tunnel, by channel: the one place both ends read them."""

from __future__ import annotations

# ---- control channel, control plane -> runner ------------------------------------------------
BUNDLE = "bundle"  # contract.bundles.Bundle: the sync command for one environment
ROLLBACK = "rollback"  # contract.commands.RollbackCommand
REPLAY = "replay"  # contract.replay.ReplayCommand
CERTIFICATE = "certificate"  # contract.commands.CertificateIssued
ROTATE_CERTIFICATE = "rotate_certificate"  # renew now (e.g. after a CA change); no payload

# ---- control channel, runner -> control plane ------------------------------------------------
RENEW_CERTIFICATE = "renew_certificate"  # contract.commands.RenewCertificate

# ---- status channel, runner -> control plane -------------------------------------------------
STATUS = "status"  # contract.status.StatusReport; also the runner outbox's `kind`
REPLAY_RESULT = "replay_result"  # contract.replay.ReplayResult

# ---- telemetry channel, runner -> control plane ----------------------------------------------
TELEMETRY_BATCH = "batch"  # {"batch": contract.telemetry.TelemetryBatch}

# ---- proxy channel ---------------------------------------------------------------------------
PROXY_REQUEST = "request"  # contract.proxy.ProxyRequest, control plane -> runner
PROXY_RESPONSE = "response"  # contract.proxy.ProxyResponse, runner -> control plane
