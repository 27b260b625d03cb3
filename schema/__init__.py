"""The config-repository contract: models, JSON Schemas, safe loading and validation."""
