"""The only Jolokia HTTP client: bulk POST requests, Jolokia's in-band errors turned into ours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import msgspec

# Error bodies can carry message bodies or stack traces: keep what we log and raise short.
_ERROR_TEXT_MAX = 300
_STACK_TRACE_MAX = 64 * 1024


def truncate(text: str, limit: int = _ERROR_TEXT_MAX) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


class JolokiaError(Exception):
    """Base of every failure talking to a Jolokia agent."""


class JolokiaUnavailable(JolokiaError):
    """Unreachable or answered garbage: retry later, the JVM may be restarting."""


class JolokiaRequestError(JolokiaError):
    """The agent answered but refused one request (unknown MBean, operation threw, ...)."""

    def __init__(
        self, message: str, *, error_type: str, status: int, stack_trace: str = ""
    ) -> None:
        super().__init__(truncate(message))
        self.error_type = error_type
        self.status = status
        self.stack_trace = stack_trace[:_STACK_TRACE_MAX]
        """Only when the request asked for it (`execute(..., stack_trace=True)`); it holds
        the cause chain, and may hold message content: redact before it leaves the pod."""


class JolokiaClient:
    """Async client for one agent URL (``http://127.0.0.1:8778/jolokia/``); POST only, since
    Camel ObjectNames carry quotes and slashes that GET paths would need escaping for."""

    def __init__(
        self, url: str, session: aiohttp.ClientSession, *, timeout_seconds: float = 5.0
    ) -> None:
        self._url = url if url.endswith("/") else url + "/"
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    @property
    def url(self) -> str:
        return self._url

    async def bulk(self, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send several requests in one round trip; responses come back in request order."""
        try:
            async with self._session.post(
                self._url, json=list(requests), timeout=self._timeout
            ) as response:
                # bytes straight into the decoder: a tracer dump is megabytes of JSON
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise JolokiaUnavailable(f"Jolokia at {self._url} unreachable: {exc!r}") from exc
        if status != 200:
            raise JolokiaUnavailable(
                f"Jolokia at {self._url} answered HTTP {status}: {_text(body)}"
            )
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise JolokiaUnavailable(f"Jolokia answered non-JSON: {_text(body)}") from exc
        if not isinstance(decoded, list) or len(decoded) != len(requests):
            raise JolokiaUnavailable(f"Jolokia answered an unexpected shape: {_text(body)}")
        return [_checked(item) for item in decoded]

    async def one(self, request: dict[str, Any]) -> Any:
        """Send one request and return its ``value``, raising JolokiaRequestError on refusal."""
        (response,) = await self.bulk([request])
        if response["status"] != 200:
            raise _request_error(response)
        return response.get("value")

    async def version(self) -> dict[str, Any]:
        value = await self.one({"type": "version"})
        if not isinstance(value, dict):
            raise JolokiaUnavailable("Jolokia version answer is not an object")
        return value

    async def search(self, pattern: str) -> list[str]:
        value = await self.one({"type": "search", "mbean": pattern})
        return [str(name) for name in value] if isinstance(value, list) else []

    async def read(self, mbean: str, attributes: Sequence[str] | None = None) -> Any:
        request: dict[str, Any] = {"type": "read", "mbean": mbean}
        if attributes is not None:
            request["attribute"] = list(attributes)
        return await self.one(request)

    async def write(self, mbean: str, attribute: str, value: Any) -> Any:
        return await self.one(
            {"type": "write", "mbean": mbean, "attribute": attribute, "value": value}
        )

    async def execute(
        self, mbean: str, operation: str, *arguments: Any, stack_trace: bool = False
    ) -> Any:
        """`stack_trace`: a refusal carries the Java stack trace with its `Caused by:` chain
        (Jolokia reports only the outermost exception, e.g. Camel's wrapper, otherwise)."""
        request: dict[str, Any] = {
            "type": "exec",
            "mbean": mbean,
            "operation": operation,
            "arguments": list(arguments),
        }
        if stack_trace:
            request["config"] = {"includeStackTrace": "true"}
        return await self.one(request)


def _text(body: bytes) -> str:
    return truncate(body[: _ERROR_TEXT_MAX * 4].decode("utf-8", "replace"))


def _checked(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("status"), int):
        raise JolokiaUnavailable(f"Jolokia answered an unexpected item: {truncate(repr(item))}")
    return item


def _request_error(response: dict[str, Any]) -> JolokiaRequestError:
    return JolokiaRequestError(
        str(response.get("error", "unknown Jolokia error")),
        error_type=str(response.get("error_type", "")),
        status=int(response["status"]),
        stack_trace=str(response.get("stacktrace", "")),
    )


def raise_for_item(response: dict[str, Any]) -> Any:
    """The value of one bulk response item, or our error for it."""
    if response["status"] != 200:
        raise _request_error(response)
    return response.get("value")
