"""Control-plane PKI: the CA, one-time registration tokens, runner identities and their store."""
