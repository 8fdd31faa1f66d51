"""Every error the server answers is a JSON problem ``{"error": code, "detail": text}``.

The codes are stable (clients branch on them); the detail names the field and the value.
A client can never cause a 500: the SDK's typed errors carry their own 4xx status, request
validation is 422, and the body size limit is 413 before the body is read.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty_sdk.core.errors import LoyaltyError

log = logging.getLogger("loyalty_sdk.server")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def problem(status: int, error: str, detail: Any, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = {"error": error, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json",
                    headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem."""

    @app.exception_handler(LoyaltyError)
    async def _loyalty(_request: Request, error: LoyaltyError) -> Response:
        field = error.field
        return problem(error.status, error.code, error.detail, field=field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem(422, "invalid_request", f"{where}: {first.get('msg')}", field=where or None)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        code = HTTP_CODES.get(error.status_code, "error")
        detail = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed(app, request.url.path) or headers.get("Allow", "")
        return problem(error.status_code, code, detail, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "the server failed; the error is in its log")


def _allowed(app: FastAPI, path: str) -> str | None:
    """Every method the API serves at ``path`` (a 405 from the router names only those of the
    first route it tried, while /members has GET and POST on two routes)."""
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            methods = {method.upper() for method in operations}
            if "GET" in methods:
                methods.add("HEAD")
            table.append((pattern, ", ".join(sorted(methods))))
        app.state.allowed_methods = table
    return next((methods for pattern, methods in table if pattern.match(path)), None)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before the app sees them.

    The body is read here, up to the limit, and handed to the app whole: a declared
    Content-Length over the limit is refused without reading, a chunked body as soon as it
    passes the limit. Webhook and API bodies are small, so holding one costs nothing."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "payload_too_large", f"request body is over the {self.limit:,} byte limit")
        await response(scope, receive, send)


__all__ = ["BodyLimit", "HTTP_CODES", "install", "problem"]
