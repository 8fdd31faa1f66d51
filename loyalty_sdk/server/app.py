"""The FastAPI app: platform webhooks into the inbox, the REST API out.

    app = create_app(Runtime())         # what `loyalty serve` runs under uvicorn

A webhook is answered as soon as it is verified and committed to the inbox (many requests
share one commit: :mod:`loyalty_sdk.server.ingest`); processing happens in workers, so a slow or failing rule never delays the answer platforms wait for
(Shopify gives up after 5 s). On SQLite the app runs a worker and the scheduled jobs in
background threads, so one command gives a complete server; on PostgreSQL it does so too
unless ``embedded=False`` (``loyalty serve --no-embedded-worker``), for deployments that scale
workers (``loyalty worker``) apart from the web processes.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Route

from loyalty_sdk import admin
from loyalty_sdk.server import analytics_api, api, problems, referrals_api, segments_api
from loyalty_sdk.server.ingest import InboxUnavailable, InboxWriter
from loyalty_sdk.server.outbound import Sender
from loyalty_sdk.server.platforms import PlatformAdapter, SignatureRejected, WebhookRequest
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.scheduler import Scheduler
from loyalty_sdk.server.worker import Worker, WorkerOptions

log = logging.getLogger("loyalty_sdk.server")
BODY_LIMIT = 1024 * 1024
"""Bytes. A Shopify order with 250 lines is ~300 kB."""


def create_app(runtime: Runtime, *, embedded: bool = True, worker_options: WorkerOptions | None = None,
               body_limit: int = BODY_LIMIT, owns_runtime: bool = False) -> FastAPI:
    """The server for ``runtime``; ``embedded`` runs a worker and the jobs in this process;
    ``owns_runtime`` closes the runtime when the app shuts down."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = []
        if embedded:
            for target in (Worker(runtime, worker_options).run, Scheduler(runtime).run, Sender(runtime).run):
                name = f"loyalty-{type(target.__self__).__name__.lower()}"
                thread = threading.Thread(target=target, args=(stop,), daemon=True, name=name)
                thread.start()
                threads.append(thread)
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            writer.close()
            if owns_runtime:
                runtime.close()

    app = FastAPI(title="loyalty-sdk", version=_version(), lifespan=lifespan,
                  description="Points, rewards and tiers for an existing store: webhooks in, REST API out.")
    app.state.runtime = runtime
    writer = app.state.inbox_writer = InboxWriter(runtime.db)
    problems.install(app)
    for adapter in runtime.adapters.values():
        for path in adapter.webhook_paths:
            # A plain Starlette route: the webhook path needs none of FastAPI's per-request
            # dependency machinery, and every microsecond here is one the platform waits.
            app.router.routes.append(Route(path, _webhook(runtime, adapter, writer), methods=["POST"],
                                           name=f"webhook_{adapter.name}_{len(app.routes)}"))
        extra = getattr(adapter, "router", None)
        if extra is not None:
            app.include_router(extra)
    app.include_router(api.router)
    app.include_router(analytics_api.router)
    app.include_router(admin.router)
    app.include_router(segments_api.router)
    app.include_router(referrals_api.router)
    app.add_middleware(problems.BodyLimit, limit=body_limit)
    return app


def from_environment() -> FastAPI:
    """The app ``loyalty serve`` runs in each uvicorn process, configured by ``LOYALTY_*``."""
    embedded = os.environ.get("LOYALTY_SERVE_EMBEDDED", "1") != "0"
    app = create_app(Runtime(), embedded=embedded, owns_runtime=True)
    # Everything loaded so far (the web stack, SQLAlchemy, the program, the plugins) lives as
    # long as the process: move it out of the cyclic collector's sight. Otherwise each full
    # collection walks all of it, a 100 ms pause in the middle of serving requests.
    gc.collect()
    gc.freeze()
    return app


def _version() -> str:
    try:
        return metadata.version("loyalty-sdk")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _webhook(runtime: Runtime, adapter: PlatformAdapter, writer: InboxWriter) -> Callable[[Request], Any]:
    async def receive(request: Request) -> Response:
        body = await request.body()
        seen = WebhookRequest(request.method, request.url.path, dict(request.path_params), dict(request.query_params),
                              {name.lower(): value for name, value in request.headers.items()}, body)
        try:
            accepted = adapter.verify(seen, runtime.shop)
        except SignatureRejected as rejected:
            log.info("%s webhook refused: %s", adapter.name, rejected)
            return problems.problem(401, "invalid_signature", f"{adapter.name} signature verification failed")
        if accepted is None:  # a ping: acknowledged, nothing to keep
            return Response(b'{"accepted":false}', media_type="application/json")
        try:
            fresh = await writer.store(adapter.name, accepted, seen.headers, body, runtime.now())
        except InboxUnavailable:
            return problems.problem(503, "inbox_unavailable", "the delivery could not be stored; send it again",
                                    headers={"retry-after": "5"})
        return Response(b'{"accepted":true}' if fresh else b'{"accepted":true,"duplicate":true}',
                        media_type="application/json")

    return receive


__all__ = ["BODY_LIMIT", "create_app", "from_environment"]
