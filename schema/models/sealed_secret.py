"""SealedSecret (`secrets/<name>.sealed.yaml`): values sealed to the control plane's key."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schema.models.common import API_VERSION_LITERAL, Metadata, Name, StrictModel

# "cops1:" + base64url of the sealed envelope; anything else is treated as plaintext and refused.
SEALED_VALUE_PATTERN = r"^cops1:[A-Za-z0-9_-]{40,}={0,2}$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"  # noqa: S105 (a key-name pattern, not a secret)

SealedValue = Annotated[
    str,
    StringConstraints(pattern=SEALED_VALUE_PATTERN),
    Field(description="ciphertext from `camelops secret seal` (starts with 'cops1:')"),
]
SecretKey = Annotated[str, StringConstraints(pattern=SECRET_KEY_PATTERN, max_length=253)]


class SealedSecretSpec(StrictModel):
    encrypted_data: dict[SecretKey, SealedValue] = Field(min_length=1)
    environments: tuple[Name, ...] = Field(
        default=(), description="limit this secret to these environments (all when empty)"
    )
    preview_safe: bool = Field(
        default=False,
        description="previews (pr-<n>) get the real values; otherwise a preview's copy of this "
        "Secret has its keys with empty values",
    )


class SealedSecret(StrictModel):
    api_version: API_VERSION_LITERAL
    kind: Literal["SealedSecret"]
    metadata: Metadata
    spec: SealedSecretSpec
