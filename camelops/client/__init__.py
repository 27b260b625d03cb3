"""What the commands that call a running control plane share: trusting its HTTPS certificate
(`tls`) and editing sealed-secret files in a config repository (`sealed_file`)."""
