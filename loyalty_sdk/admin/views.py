"""The ``/admin`` pages: server-rendered HTML, no script, nothing loaded from elsewhere.

Every page needs a signed-in admin (:mod:`.sessions`): a signed-out ``GET`` is sent to the
sign-in page, anything else is 401. Every ``POST`` carries the session's CSRF token (403
otherwise, before anything changes) and answers with a redirect, so a reload never posts twice.
Every action goes to the audit (:mod:`.audit`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.exceptions import HTTPException

from loyalty_sdk.admin import audit, dashboard, lookups, sessions
from loyalty_sdk.admin.sessions import Admin
from loyalty_sdk.core.errors import LoyaltyError, MemberNotFound
from loyalty_sdk.core.ledger import stored
from loyalty_sdk.facade import HistoryLine, Loyalty
from loyalty_sdk.server import inbox
from loyalty_sdk.server.api_models import MAX_ID
from loyalty_sdk.server.runtime import Runtime

PREFIX = "/admin"
SIGN_IN_COOKIE = "loyalty_admin_form"
"""The sign-in form's own CSRF token (double submit): there is no session yet to hold one."""



def _when(moment: datetime | str | None) -> str:
    """An instant as the pages show it: UTC, to the minute."""
    moment = stored(moment)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _why(line: HistoryLine) -> list[str]:
    """What explains a history line besides its reason: order, rules, who, and the rest."""
    cause = line.cause
    parts = [f"order {line.order_id}"] if line.order_id else []
    if line.rules:
        parts.append("rules " + ", ".join(line.rules))
    if cause.get("actor"):
        parts.append(f"by {cause['actor']}")
    parts.extend(f"{key.replace('_', ' ')} {value}" for key, value in cause.items()
                 if key not in ("rules", "actor", "reason") and value not in (None, "", [], {}))
    return parts


_environment = Environment(loader=PackageLoader("loyalty_sdk.admin", "templates"), autoescape=True,
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_environment.filters.update(when=_when, why=_why)
templates = Jinja2Templates(env=_environment)
router = APIRouter(prefix=PREFIX, include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_FRAMES = {"shopify": "https://{shop} https://admin.shopify.com"}
"""Who may frame the pages of a session token's request (anyone else: nobody)."""


# -- who is asking ------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def signed_in(request: Request) -> Admin:
    admin = sessions.current(_runtime(request), request)
    if admin is None:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(303, "sign in first", headers={"Location": f"{PREFIX}/sign-in?next={quote(target)}"})
        raise HTTPException(401, "sign in to the admin pages first")
    return admin


async def acting(request: Request, admin: Annotated[Admin, Depends(signed_in)]) -> Admin:
    """A signed-in admin posting a form with the session's CSRF token."""
    form = await request.form()
    if not sessions.csrf_matches(admin, form.get("csrf")):
        raise HTTPException(403, "the form's CSRF token is not this session's: reload the page and try again")
    return admin


SignedIn = Annotated[Admin, Depends(signed_in)]
Acting = Annotated[Admin, Depends(acting)]


def _writer(admin: Admin) -> None:
    if not admin.can_write:
        raise HTTPException(403, "this session signed in with a read-only key")


def _page(request: Request, admin: Admin | None, template: str, code: int = 200, **context: Any) -> Response:
    frame = "'none'"
    if admin is not None and admin.platform is not None:  # inside the platform's admin
        frame = _FRAMES.get(admin.platform, "'none'").format(shop=admin.shop_id)
    headers = {**_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
               f"img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors {frame}"}
    context.setdefault("notice", None)
    context.setdefault("error", None)
    return templates.TemplateResponse(request, template, {"admin": admin, "prefix": PREFIX, **context},
                                      status_code=code, headers=headers)


def _back(path: str, **query: Any) -> RedirectResponse:
    wanted = {key: value for key, value in query.items() if value is not None}
    return RedirectResponse(PREFIX + path + (f"?{urlencode(wanted)}" if wanted else ""), status_code=303)


def _local(target: str | None) -> str:
    """Where to go after signing in: an admin page of this server, never elsewhere."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def _loyalty(request: Request, admin: Admin) -> Loyalty:
    return _runtime(request).loyalty(admin.shop_id)


# -- signing in and out --------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page(request, None, "sign_in.html", title="Sign in", form_token=token, next=_local(next))
    _set_cookie(request, response, SIGN_IN_COOKIE, token, 3600)
    return response


@router.post("/sign-in")
def sign_in(request: Request, key: Annotated[str, Form(max_length=512)],
            csrf: Annotated[str, Form(max_length=128)] = "", shop: Annotated[str, Form(max_length=255)] = "",
            next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
        raise HTTPException(403, "the sign-in form expired: reload the page and try again")
    runtime = _runtime(request)
    try:
        cookie, admin = sessions.sign_in(runtime, key, shop.strip() or None)
    except sessions.SignInRefused as refused:
        return _page(request, None, "sign_in.html", 401, title="Sign in", form_token=expected, next=_local(next), error=str(refused))
    audit.record(runtime, admin, audit.SIGN_IN, {"scope": admin.scope})
    response = RedirectResponse(_local(next), status_code=303)
    _set_cookie(request, response, sessions.COOKIE, cookie, sessions.SESSION_SECONDS)
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, path=PREFIX, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


@router.post("/sign-out")
def sign_out(request: Request, admin: Acting) -> Response:
    runtime = _runtime(request)
    audit.record(runtime, admin, audit.SIGN_OUT)
    sessions.sign_out(runtime, admin)
    response = _back("/sign-in")
    response.delete_cookie(sessions.COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@router.post("/shop")
def switch_shop(request: Request, admin: Acting, shop: Annotated[str, Form(min_length=1, max_length=255)]) -> Response:
    try:
        switched = sessions.switch_shop(_runtime(request), admin, shop.strip())
    except sessions.SignInRefused as refused:
        raise HTTPException(403 if not admin.all_shops else 404, str(refused)) from None
    audit.record(_runtime(request), switched, audit.SWITCH_SHOP, {"from": admin.shop_id})
    return _back("/")


# -- pages -----------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, admin: SignedIn) -> Response:
    return _page(request, admin, "dashboard.html", title="Dashboard", **dashboard.figures(_loyalty(request, admin)))


@router.get("/members")
def find_members(request: Request, admin: SignedIn,
                 q: Annotated[str, Query(max_length=320)] = "") -> Response:
    found = lookups.search_members(_loyalty(request, admin), q)
    return _page(request, admin, "members.html", title="Members", q=q, found=found, limit=lookups.FOUND_AT_MOST)


MemberId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _profile(request: Request, admin: Admin, member_id: int, code: int = 200, **context: Any) -> Response:
    loyalty = _loyalty(request, admin)
    try:
        member = loyalty.member(member_id)
    except MemberNotFound:
        return _page(request, admin, "missing.html", 404, title="Not found", what=f"member {member_id}")
    return _page(request, admin, "member.html", code, title=member.name or member.email or f"Member {member.id}",
                 member=member, progress=loyalty.tier_progress(member.id), lots=loyalty.lots(member.id),
                 history=loyalty.history(member.id, limit=500), tier_history=loyalty.tier_history(member.id),
                 rewards=lookups.issued_rewards(loyalty, member_id=member.id), nonce=secrets.token_urlsafe(16),
                 referrals=loyalty.referrals(member.id) if loyalty.program.referrals is not None else None,
                 **context)


@router.get("/members/{member_id}")
def member_page(request: Request, admin: SignedIn, member_id: MemberId,
                adjusted: Annotated[int | None, Query()] = None) -> Response:
    audit.record(_runtime(request), admin, audit.VIEW_MEMBER, {"member_id": member_id})
    notice = f"Adjustment posted (transaction {adjusted})." if adjusted is not None else None
    return _profile(request, admin, member_id, notice=notice)


@router.post("/members/{member_id}/adjustments")
def adjust(request: Request, admin: Acting, member_id: MemberId,
           points: Annotated[str, Form(max_length=20)], reason: Annotated[str, Form(max_length=500)] = "",
           nonce: Annotated[str, Form(max_length=64)] = "") -> Response:
    _writer(admin)
    try:
        amount = int(points.strip())
    except ValueError:
        return _profile(request, admin, member_id, 422, error=f"points must be a whole number, got {points!r}")
    try:
        posted = _loyalty(request, admin).adjust(member_id, amount, reason.strip(), actor=f"admin: {admin.actor}",
                                                 idempotency_key=f"admin:{nonce}" if nonce else None)
    except LoyaltyError as refused:
        return _profile(request, admin, member_id, refused.status, error=refused.detail)
    if not posted.replayed:
        audit.record(_runtime(request), admin, audit.ADJUST, {
            "member_id": member_id, "points": amount, "reason": reason.strip(), "transaction_id": posted.transaction_id})
    return _back(f"/members/{member_id}", adjusted=posted.transaction_id)


@router.get("/rewards")
def rewards(request: Request, admin: SignedIn, status: Annotated[str, Query(max_length=16)] = "") -> Response:
    issued = lookups.issued_rewards(_loyalty(request, admin), status=status or None, limit=200)
    return _page(request, admin, "rewards.html", title="Rewards issued", issued=issued, status=status)


@router.get("/program")
def program(request: Request, admin: SignedIn) -> Response:
    loaded = _loyalty(request, admin).program
    shop = _runtime(request).shop(admin.shop_id)
    return _page(request, admin, "program.html", title="Program", version=loaded.version, shop=shop,
                 sections=loaded.model_dump(mode="json"))


@router.get("/inbox")
def deliveries(request: Request, admin: SignedIn,
               status: Annotated[str, Query(pattern="^(|pending|done|dead)$")] = "dead",
               retried: Annotated[int | None, Query()] = None) -> Response:
    with _runtime(request).db.connect() as conn:
        listed = inbox.listing(conn, status=status or None, shop_id=admin.shop_id, limit=100)
        counts = inbox.counts(conn, shop_id=admin.shop_id)
    notice = None if retried is None else f"{retried} deliver{'y' if retried == 1 else 'ies'} queued again."
    return _page(request, admin, "inbox.html", title="Inbox", listed=listed, counts=counts, status=status,
                 notice=notice)


@router.get("/inbox/{delivery_id}")
def delivery(request: Request, admin: SignedIn, delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    with _runtime(request).db.connect() as conn:
        found = inbox.show(conn, delivery_id)
    if found is None or found["shop_id"] != admin.shop_id:
        return _page(request, admin, "missing.html", 404, title="Not found", what=f"delivery {delivery_id}")
    return _page(request, admin, "delivery.html", title=f"Delivery {delivery_id}", delivery=found)


@router.post("/inbox/retry")
def retry(request: Request, admin: Acting, ids: Annotated[list[int] | None, Form()] = None) -> Response:
    _writer(admin)
    runtime = _runtime(request)
    wanted = None if not ids else [i for i in ids if 1 <= i <= MAX_ID]
    count = inbox.retry(runtime.db, wanted, runtime.now(), shop_id=admin.shop_id)
    audit.record(runtime, admin, audit.RETRY, {"ids": wanted or "all dead", "count": count})
    return _back("/inbox", status="pending" if count else "dead", retried=count)


@router.get("/audit")
def audit_page(request: Request, admin: SignedIn,
               before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    rows = audit.recent(_runtime(request), admin.shop_id, before=before, limit=100)
    return _page(request, admin, "audit.html", title="Audit", rows=rows,
                 older=rows[-1]["id"] if len(rows) == 100 else None)


__all__ = ["router", "signed_in"]
