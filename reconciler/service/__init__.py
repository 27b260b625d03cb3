"""Use cases the API and the portal share: each one a transaction with its audit record. The
adapters (`reconciler.api`, later the portal) translate requests and errors, nothing more."""
