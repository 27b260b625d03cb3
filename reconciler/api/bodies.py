"""Request bodies of the API: strict pydantic models, and one helper that reads them."""

from __future__ import annotations

import json
import re
from typing import Annotated, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contract.validation import validation_problems
from reconciler.api.problems import VALIDATION_TYPE, ProblemError, problem_error
from schema.models.common import DNS1123_LABEL

Model = TypeVar("Model", bound=BaseModel)
_MAX_BODY = 64 * 1024
SQLITE_MAX_INT = 2**63 - 1  # any id beyond cannot be stored, so cannot exist
# remote URLs: https, ssh (URL or scp-like), file:// and absolute local paths
URL_PATTERN = r"^(https://|ssh://|file:///|/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^\s\x00]*$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RepositoryCredentials(Body):
    """The repository's own HTTPS token: stored encrypted, sent only to the URL's host."""

    username: Annotated[str, StringConstraints(pattern=r"^[^\s:@]{1,200}$")] = "git"
    token: str = Field(min_length=1, max_length=4096, repr=False)


class CreateProject(Body):
    name: Annotated[str, StringConstraints(pattern=DNS1123_LABEL, max_length=63)]
    url: Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=2048)]
    branch: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,200}$")] = "main"
    poll_interval_seconds: int = Field(default=120, ge=0, le=86_400, alias="pollIntervalSeconds")
    webhook_secret: str = Field(default="", max_length=256, alias="webhookSecret")
    credentials: RepositoryCredentials | None = None


class SyncBody(Body):
    override: bool = Field(default=False, description="pass a blocking sync window (audited)")


class PinBody(Body):
    revision: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,40}$")] | None = None
    bundle_id: int | None = Field(default=None, ge=1, le=SQLITE_MAX_INT, alias="bundleId")
    override: bool = False


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """Parse a JSON body into `model`; any problem is a 400 with what was wrong."""
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=_MAX_BODY, actual_size=request.content_length)
    raw = await request.content.read(_MAX_BODY + 1)
    if len(raw) > _MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=_MAX_BODY, actual_size=len(raw))
    try:
        data = json.loads(raw or b"{}")
        return model.model_validate(data)
    except (UnicodeDecodeError, RecursionError):
        raise bad_request("the body is not valid JSON") from None
    except ValidationError as exc:
        problems = validation_problems(exc, root="body", limit=len(exc.errors()))
        raise problem_error(
            400, "; ".join(problems)[:2000], type_=VALIDATION_TYPE, errors=problems
        ) from None
    except ValueError:  # malformed JSON, or a number of thousands of digits
        raise bad_request("the body is not valid JSON (or holds a number too long)") from None


def bad_request(message: str) -> ProblemError:
    return problem_error(400, message)


def name_ok(value: str) -> bool:
    return bool(re.fullmatch(DNS1123_LABEL, value)) and len(value) <= 63
