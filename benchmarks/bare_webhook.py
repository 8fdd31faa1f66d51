"""The raw limit beside the webhook figures: an endpoint that only verifies the signature
(the same HMAC-SHA256 scheme as the ``custom`` platform) and answers 200. No inbox, no
database, no FastAPI: plain Starlette under the same uvicorn settings as ``loyalty serve``.

    uvicorn benchmarks.bare_webhook:app --workers N
"""

from __future__ import annotations

import hashlib
import hmac
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = os.environ.get("BARE_WEBHOOK_SECRET", "").encode()


async def webhook(request: Request) -> Response:
    body = await request.body()
    timestamp, _, given = request.headers.get("x-loyalty-signature", "").partition(",v1=")
    expected = hmac.new(SECRET, timestamp[2:].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return Response(b'{"error":"invalid_signature"}', status_code=401, media_type="application/json")
    return Response(b'{"accepted":true}', media_type="application/json")


app = Starlette(routes=[Route("/webhooks/custom/{shop}", webhook, methods=["POST"])])
