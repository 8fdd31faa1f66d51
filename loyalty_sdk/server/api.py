"""The REST API under ``/api/v1``: members, balances, history, redemptions, adjustments,
activities, orders and refunds for custom stores, the rewards catalog and the program.

Every endpoint but ``/health`` takes ``Authorization: Bearer <key>`` (see :mod:`.auth`) and
works on the key's shop only: each route gets its shop's facade from a dependency, never a
shop id from the request, so another shop's member or order is a 404 like one that does not
exist. Points are integers; money is a string (``"5.00"``) in its currency's minor units.

Status codes: 200 for reads and for recorded events (orders, refunds, cancellations,
activities: a repeated event answers 200 again with ``replayed: true``); 201 for what a call
creates (a member, a redemption, an adjustment; a replay of the same ``Idempotency-Key`` and
body answers 201 with the original and ``replayed: true``, and the ``Idempotent-Replayed``
header). Errors are problems ``{"error", "detail", "field"}``: 401 ``unauthorized``, 403
``insufficient_scope`` or ``forbidden``, 404 ``member_not_found`` / ``order_not_found`` /
``reward_not_found`` / ``shop_not_found``, 409 ``member_exists`` / ``insufficient_points`` /
``redemption_refused`` / ``idempotency_conflict``, 422 ``invalid_request`` / ``invalid_input``
(and 502 ``reward_not_issued`` when a platform fails to create a reward's code).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import Field
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from loyalty_sdk.core.errors import InvalidInput, LoyaltyError, ShopNotFound
from loyalty_sdk.core.members import to_member
from loyalty_sdk.core.models import MemberRef
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.plugins.rewards import reward_from_rule
from loyalty_sdk.server import processing
from loyalty_sdk.server.api_models import (
    MAX_ID,
    ActivityOut,
    AdjustmentIn,
    AdjustmentOut,
    AwardOut,
    CancellationBody,
    EnrollIn,
    LotOut,
    LotsOut,
    MemberBalance,
    MemberOut,
    MembersOut,
    OrderBody,
    OrderOut,
    Problem,
    ProgramOut,
    RedactionOut,
    RedemptionIn,
    RedemptionOut,
    RefundBody,
    RewardNotIssued,
    RewardOut,
    RewardsOut,
    ShopOut,
    TakeBackOut,
    TransactionOut,
    TransactionsOut,
    balance_of,
    money_text,
    problem_answers,
)
from loyalty_sdk.server.auth import ReadAccess, WriteAccess
from loyalty_sdk.server.schemas import (
    ActivityIn,
    CancellationIn,
    RefundIn,
)


async def refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL characters (a query with one fails outright): refuse
    them anywhere in a request, on every engine, as bad input."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope.get("query_string", b""):
        raise InvalidInput("the URL must not contain NUL characters", field="url")
    body = await request.body()
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInput("the body must not contain NUL characters (\\u0000)", field="body")


router = APIRouter(prefix="/api/v1", dependencies=[Depends(refuse_nul)])

MAX_LISTED = 100
"""Members one lookup answers at most (several customers may share an email)."""


# -- who is asking --------------------------------------------------------------------------------


def _reading(request: Request, access: ReadAccess) -> Loyalty:
    return request.app.state.runtime.loyalty(access.shop_id)


def _writing(request: Request, access: WriteAccess) -> Loyalty:
    return request.app.state.runtime.loyalty(access.shop_id)


Reader = Annotated[Loyalty, Depends(_reading)]
"""The facade of the key's shop, for any key."""
Writer = Annotated[Loyalty, Depends(_writing)]
"""The facade of the key's shop, for a write key."""

MemberId = Annotated[int, Path(ge=1, le=MAX_ID, description="The member's `id`.")]
OrderId = Annotated[str, Path(min_length=1, max_length=255, description="The store's order id.")]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


# -- routes ----------------------------------------------------------------------------------------


@router.get("/health", tags=["health"])
def health(request: Request) -> dict[str, str]:
    """Whether the server can reach its database."""
    with request.app.state.runtime.db.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/members", tags=["members"], responses=problem_answers())
def find_members(
    loyalty: Reader,
    email: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Page on: members with a greater `id`.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = MAX_LISTED,
) -> MembersOut:
    """Members by email or by the platform's customer id (both: members matching both); an
    empty list when there are none. With neither, every member, in pages of ``limit`` by
    ``id``: pass the last ``id`` seen as ``after`` for the next page."""
    m = members_table.c
    query = select(members_table).where(m.shop_id == loyalty.shop_id, m.id > after).order_by(m.id).limit(limit)
    if customer_id is not None:
        query = query.where(m.customer_id == customer_id)
    if email is not None:
        query = query.where(m.email == MemberRef(email=email).email)
    with loyalty.books.read() as conn:
        found = [to_member(row) for row in conn.execute(query)]
    return MembersOut(members=[MemberOut.of(member) for member in found])


@router.post("/members", tags=["members"], status_code=201, responses=problem_answers(409))
def enroll(loyalty: Writer, body: EnrollIn) -> MemberOut:
    """Enroll a customer; 409 ``member_exists`` when they already are a member."""
    member = loyalty.enroll(body.customer_id, email=body.email, name=body.name, birthday=body.birthday)
    return MemberOut.of(member)


@router.get("/members/{member_id}", tags=["members"], responses=problem_answers())
def get_member(loyalty: Reader, member_id: MemberId) -> MemberOut:
    return MemberOut.of(loyalty.member(member_id))


@router.get("/members/{member_id}/balance", tags=["members"], responses=problem_answers())
def get_balance(loyalty: Reader, member_id: MemberId) -> MemberBalance:
    member = loyalty.member(member_id)
    return MemberBalance(member_id=member.id, available=member.available, pending=member.pending,
                         lifetime_points=member.lifetime_points, tier=member.tier)


@router.get("/members/{member_id}/transactions", tags=["members"], responses=problem_answers())
def get_transactions(loyalty: Reader, member_id: MemberId,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> TransactionsOut:
    """The member's transactions, newest first, each with its reason, rules and order."""
    return TransactionsOut(transactions=[
        TransactionOut(id=line.id, at=line.at, kind=line.kind, points=line.points, reason=line.reason,
                       order_id=line.order_id, rules=list(line.rules), cause=line.cause)
        for line in loyalty.history(member_id, limit=limit)
    ])


@router.get("/members/{member_id}/lots", tags=["members"], responses=problem_answers())
def get_lots(loyalty: Reader, member_id: MemberId) -> LotsOut:
    """The member's earnings: what is left of each, when it becomes available and expires."""
    return LotsOut(lots=[
        LotOut(id=lot.id, points=lot.points, remaining=lot.remaining, status=lot.status, earned_at=lot.earned_at,
               available_at=lot.available_at, expires_at=lot.expires_at)
        for lot in loyalty.lots(member_id)
    ])


@router.get("/members/{member_id}/rewards", tags=["rewards"], responses=problem_answers())
def get_member_rewards(loyalty: Reader, member_id: MemberId) -> RewardsOut:
    """The rewards this member may choose (their tier allows them)."""
    return RewardsOut(rewards=[RewardOut.of(reward) for reward in loyalty.rewards(member_id)])


@router.post("/members/{member_id}/redemptions", tags=["rewards"], status_code=201,
             responses={**problem_answers(409), 502: {"model": Problem}})
def redeem(loyalty: Writer, member_id: MemberId, body: RedemptionIn, response: Response,
           idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$")]) -> RedemptionOut:
    """Spend points on a reward and get its code. ``Idempotency-Key`` is required: the same key
    and body answer the original redemption (``replayed``); the same key with another body is
    409 ``idempotency_conflict``. 409 ``insufficient_points`` when the member cannot afford it."""
    try:
        result = loyalty.redeem(member_id, body.reward_id, points=body.points, idempotency_key=idempotency_key)
    except (LoyaltyError, SQLAlchemyError):
        raise
    except Exception as error:  # the platform could not issue it; the points were given back
        raise RewardNotIssued(f"reward {body.reward_id!r} could not be issued; no points were spent",
                              field="reward_id", value=body.reward_id) from error
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return RedemptionOut(id=result.id, member_id=result.member_id, reward_id=result.reward_id, points=result.points,
                         value=money_text(result.value), currency=result.value.currency if result.value else None,
                         code=result.code, status=result.status, transaction_id=result.transaction_id,
                         replayed=result.replayed, balance=balance_of(loyalty, result.member_id))


@router.delete("/members/{member_id}", tags=["members"], responses=problem_answers())
def redact_member(loyalty: Writer, member_id: MemberId) -> RedactionOut:
    """Erase the member's personal data (customer id, email, name, birthday), for a customer's
    erasure request. Their transactions stay, anonymous, so balances and reports still add
    up; a ``member_redacted`` event goes to notification hooks and outbound webhooks."""
    return RedactionOut(member_id=member_id, redacted=loyalty.redact(member_id))


@router.post("/members/{member_id}/adjustments", tags=["members"], status_code=201, responses=problem_answers(409))
def adjust(loyalty: Writer, member_id: MemberId, body: AdjustmentIn, response: Response,
           idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                         pattern=r"^[\x21-\x7e]+$")] = None) -> AdjustmentOut:
    """Add or remove points by hand, with a mandatory reason. With an ``Idempotency-Key`` a
    retry posts nothing twice. Removing more than is available is 409 ``insufficient_points``."""
    posted = loyalty.adjust(member_id, body.points, body.reason, actor="api", idempotency_key=idempotency_key)
    if posted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return AdjustmentOut(transaction_id=posted.transaction_id, member_id=posted.member_id, points=posted.points,
                         replayed=posted.replayed, balance=balance_of(loyalty, posted.member_id))


@router.post("/activities", tags=["events"], responses=problem_answers(409))
def record_activity(loyalty: Writer, body: ActivityIn) -> ActivityOut:
    """A non-order action (``signup``, ``birthday``, ``review``, ``social_follow`` or a custom
    kind); the customer is enrolled on first sight. Earns what the program's rule allows."""
    activity = body.to_core()
    customer = body.customer
    enrolled = processing.ensure_member(loyalty, activity.member, name=customer.name, birthday=customer.birthday)
    member = loyalty.member(activity.member)
    posted = loyalty.record_activity(activity)
    return ActivityOut(member_id=member.id, kind=body.kind, points=posted.points if posted else 0,
                       transaction_id=posted.transaction_id if posted else None,
                       replayed=bool(posted and posted.replayed), enrolled=enrolled,
                       balance=balance_of(loyalty, member.id))


@router.post("/orders", tags=["events"], responses=problem_answers(409))
def record_order(loyalty: Writer, body: OrderBody) -> OrderOut:
    """A paid order from a custom store; the customer is enrolled on first sight. The same
    order again is a replay (``replayed: true``); the same id with other contents is 409."""
    order = body.to_core(source="api")  # first: an order that cannot be recorded enrolls nobody
    enrolled = processing.ensure_member(loyalty, order.member, name=body.customer.name,
                                        birthday=body.customer.birthday)
    result = loyalty.record_order(order)
    return OrderOut(order_id=result.order_id, member_id=result.member_id, points=result.points,
                    pending=result.pending,
                    awards=[AwardOut(points=a.points, reason=a.reason, rule_id=a.rule_id, line_id=a.line_id)
                            for a in result.awards],
                    transaction_id=result.transaction_id, replayed=result.replayed, enrolled=enrolled,
                    balance=balance_of(loyalty, result.member_id))


@router.post("/orders/{order_id}/refunds", tags=["events"], responses=problem_answers(409))
def record_refund(loyalty: Writer, order_id: OrderId, body: RefundBody) -> TakeBackOut:
    """Take back points in proportion to what was refunded (capped at what the order earned)."""
    if body.order_id is not None and body.order_id != order_id:
        raise InvalidInput(f"order_id {body.order_id!r} in the body is not the order in the path", field="order_id",
                           value=body.order_id)
    refund = RefundIn.model_validate({**body.model_dump(), "order_id": order_id}).to_core()
    taken = loyalty.record_refund(refund)
    return TakeBackOut(order_id=taken.order_id, member_id=taken.member_id, taken_back=taken.points,
                       written_off=taken.written_off, transaction_id=taken.transaction_id, replayed=taken.replayed,
                       balance=balance_of(loyalty, taken.member_id))


@router.post("/orders/{order_id}/cancellation", tags=["events"], responses=problem_answers(409))
def record_cancellation(request: Request, loyalty: Writer, order_id: OrderId,
                        body: Annotated[CancellationBody | None, Body()] = None) -> TakeBackOut:
    """Take back everything the order earned that refunds have not already taken."""
    body = body or CancellationBody()
    at = body.cancelled_at or request.app.state.runtime.now()
    taken = loyalty.record_cancellation(CancellationIn(order_id=order_id, cancelled_at=at,
                                                       reason=body.reason).to_core())
    return TakeBackOut(order_id=taken.order_id, member_id=taken.member_id, taken_back=taken.points,
                       written_off=taken.written_off, transaction_id=taken.transaction_id, replayed=taken.replayed,
                       balance=balance_of(loyalty, taken.member_id))


@router.get("/rewards", tags=["rewards"], responses=problem_answers())
def get_rewards(loyalty: Reader) -> RewardsOut:
    """The program's rewards catalog (``/members/{id}/rewards``: what one member may choose)."""
    program = loyalty.program
    return RewardsOut(rewards=[RewardOut.of(reward_from_rule(rule, program)) for rule in program.rewards])


@router.get("/program", tags=["program"], responses=problem_answers())
def get_program(request: Request, loyalty: Reader) -> ProgramOut:
    """The program as loaded: earn rules, tiers, campaigns, activities, expiry, rewards."""
    program = loyalty.program
    shop = request.app.state.runtime.shop(loyalty.shop_id)
    if shop is None:  # removed since the key was checked
        raise ShopNotFound(f"no shop {loyalty.shop_id!r} is registered", field="shop", value=loyalty.shop_id)
    return ProgramOut(version=program.version,
                      shop=ShopOut(id=shop.id, platform=shop.platform, currency=shop.currency, timezone=shop.timezone),
                      program=program.program, earn=program.earn, stacking=program.stacking,
                      campaigns=list(program.campaigns), activities=list(program.activities), tiers=program.tiers,
                      expiry=program.expiry, clawback=program.clawback, rewards=list(program.rewards))


__all__ = ["router"]
