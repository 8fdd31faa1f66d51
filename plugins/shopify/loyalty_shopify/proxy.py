"""The storefront, through Shopify's app proxy: ``/apps/loyalty/...`` on the shop's own domain
is forwarded to ``/proxy/...`` here, signed.

Shopify adds ``shop``, ``logged_in_customer_id``, ``path_prefix``, ``timestamp`` and
``signature`` to the query. The signature is the hex HMAC-SHA256 (app secret) of the other
parameters as ``k=v`` (repeated keys' values joined with ``,``), sorted and concatenated with
no separator. Only after that check is ``logged_in_customer_id`` believed: it is who is asking.

- ``GET /proxy/balance``: balance, tier, progress to the next tier, the rewards they can afford;
- ``GET /proxy/history``: their transactions, each with its reason;
- ``POST /proxy/redeem`` (``reward_id``, optional ``request_id``): the discount code;
- ``GET /proxy``: a small page with all of it, no external assets.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from loyalty_sdk.core.errors import LoyaltyError, MemberNotFound
from loyalty_sdk.server.problems import problem
from loyalty_sdk.settings import get_settings

router = APIRouter(tags=["shopify"])
MAX_AGE_SECONDS = 600


def proxy_signature(pairs: Sequence[tuple[str, str]], secret: str) -> str:
    """Shopify's app proxy signature of the query ``pairs`` (``signature`` itself left out)."""
    joined: dict[str, list[str]] = {}
    for key, value in pairs:
        if key != "signature":
            joined.setdefault(key, []).append(value)
    message = "".join(sorted(f"{key}={','.join(values)}" for key, values in joined.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.answer = problem(status, code, detail)


def _caller(request: Request) -> tuple[Any, str | None]:
    """The shop's facade and the logged-in customer id, from a genuine proxied request."""
    secret = get_settings().shopify_api_secret
    pairs = list(request.query_params.multi_items())
    given = request.query_params.get("signature", "")
    if secret is None or not hmac.compare_digest(proxy_signature(pairs, secret.get_secret_value()), given):
        raise _Refused(401, "invalid_signature", "the app proxy signature does not match")
    try:
        age = time.time() - int(request.query_params.get("timestamp", ""))
    except ValueError:
        raise _Refused(401, "invalid_signature", "the proxied request has no timestamp") from None
    if abs(age) > MAX_AGE_SECONDS:
        raise _Refused(401, "invalid_signature", "the proxied request is too old")
    runtime = request.app.state.runtime
    shop = (request.query_params.get("shop") or "").lower()
    record = runtime.shop(shop)
    if record is None or record.platform != "shopify":
        raise _Refused(404, "shop_not_found", f"no Shopify shop {shop!r} here")
    return runtime.loyalty(shop), request.query_params.get("logged_in_customer_id") or None


def _member_view(loyalty: Any, customer_id: str | None) -> dict[str, Any]:
    if customer_id is None:
        return {"logged_in": False, "member": False}
    try:
        member = loyalty.member(customer_id)
    except MemberNotFound:
        return {"logged_in": True, "member": False}
    rewards = loyalty.rewards(member.id)
    return {
        "logged_in": True, "member": True,
        "balance": {"available": member.available, "pending": member.pending},
        "tier": member.tier, "progress": loyalty.tier_progress(member.id),
        "rewards": [{"id": r.id, "name": r.name, "points": r.points, "affordable": r.points <= member.available}
                    for r in rewards],
    }


def _view(request: Request) -> dict[str, Any] | Response:
    """The caller's view, or the answer that refuses them."""
    try:
        loyalty, customer = _caller(request)
    except _Refused as refused:
        return refused.answer
    return _member_view(loyalty, customer)


@router.get("/proxy/balance", include_in_schema=False)
def balance(request: Request) -> Any:
    return _view(request)


@router.get("/proxy/history", include_in_schema=False)
def history(request: Request) -> Any:
    try:
        loyalty, customer = _caller(request)
        if customer is None:
            raise _Refused(401, "not_logged_in", "log in to the store to see your points")
        lines = loyalty.history(customer, limit=50)
    except _Refused as refused:
        return refused.answer
    except MemberNotFound:
        return {"history": []}
    return {"history": [{"at": line.at.isoformat(), "points": line.points, "reason": line.reason,
                         "order_id": line.order_id} for line in lines]}


@router.post("/proxy/redeem", include_in_schema=False)
async def redeem(request: Request) -> Any:
    try:
        loyalty, customer = _caller(request)
        if customer is None:
            raise _Refused(401, "not_logged_in", "log in to the store to redeem your points")
        form = await request.json() if request.headers.get("content-type", "").startswith("application/json") \
            else dict(await request.form())
        reward_id = str(form.get("reward_id") or "")
        if not reward_id:
            raise _Refused(422, "invalid_request", "reward_id is required")
        key = f"proxy:{customer}:{form['request_id']}" if form.get("request_id") else None
        result = loyalty.redeem(customer, reward_id, idempotency_key=key)
    except _Refused as refused:
        return refused.answer
    except LoyaltyError as error:
        return problem(error.status, error.code, error.detail)
    except Exception as error:  # Shopify did not make the code; the points came back
        return problem(502, "reward_not_issued", f"the reward could not be issued: {error}")
    return {"reward_id": result.reward_id, "code": result.code, "points": result.points,
            "balance": loyalty.balance(customer).available}


@router.get("/proxy", include_in_schema=False)
def page(request: Request) -> Response:
    """The widget: the same view as ``/proxy/balance``, as HTML with no external assets."""
    view = _view(request)
    if isinstance(view, Response):
        return view
    if not view["member"]:
        body = "<p>Log in to your account to join and earn points on every order.</p>" if not view["logged_in"] \
            else "<p>Place an order to start earning points.</p>"
    else:
        progress = view["progress"]
        next_line = (f"<p>{html.escape(str(progress['needed']))} more to {html.escape(progress['next_tier'])}</p>"
                     if progress.get("next_tier") else "")
        rewards = "".join(f"<li>{html.escape(r['name'])}: {r['points']:,} points"
                          f"{'' if r['affordable'] else ' (not yet)'}</li>" for r in view["rewards"])
        body = (f"<p><strong>{view['balance']['available']:,}</strong> points"
                f" ({view['balance']['pending']:,} pending)</p>"
                f"<p>Tier: {html.escape(view['tier'] or '-')}</p>{next_line}<ul>{rewards}</ul>")
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Rewards</title><section>{body}</section>")


__all__ = ["proxy_signature", "router"]
