"""Referrals over HTTP, for programs with a ``[referrals]`` section.

- ``GET /api/v1/members/{member_id}/referral``: the member's code and link (made on first
  request), with the referrals they made.
- ``POST /api/v1/referrals``: a friend signed up with a code (``{"code", "customer"}``); the
  friend is enrolled if needed. 201 with the referral, ``invited`` or ``refused`` with its
  ``reason``; the same friend and code again answer 200 with ``replayed: true``. 404
  ``referral_code_not_found`` for a code nobody has.
- ``GET /api/v1/referrals?status=&member_id=``: referrals, newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from loyalty_sdk.core import referrals
from loyalty_sdk.server.api import MemberId, Reader, Writer, refuse_nul
from loyalty_sdk.server.api_models import MAX_ID, problem_answers
from loyalty_sdk.server.schemas import CustomerIn, Edge, Moment

router = APIRouter(prefix="/api/v1", tags=["referrals"], dependencies=[Depends(refuse_nul)])


class ReferralIn(Edge):
    """A friend who signed up with a member's referral code."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    customer: CustomerIn
    referred_at: Moment | None = None
    """When the friend signed up (default: now)."""


def _out(view: referrals.ReferralView) -> dict[str, Any]:
    return view.as_dict()


@router.get("/members/{member_id}/referral", responses=problem_answers())
def member_referral(loyalty: Reader, member_id: MemberId) -> dict[str, Any]:
    """The member's referral code and link, and the referrals they made (newest first)."""
    code = loyalty.referral_code(member_id)
    made = [view for view in loyalty.referrals(member_id) if view.referrer_id == code.member_id]
    return {**code.as_dict(), "referrals": [_out(view) for view in made]}


@router.post("/referrals", status_code=201, responses=problem_answers())
def record_referral(loyalty: Writer, body: ReferralIn, response: Response) -> dict[str, Any]:
    """Record that a friend signed up with ``code``."""
    when: datetime | None = body.referred_at
    view = loyalty.refer(body.code, body.customer.ref(), at=when, name=body.customer.name, source="api")
    if view.replayed:
        response.status_code = 200
    return _out(view)


@router.get("/referrals", responses=problem_answers())
def list_referrals(loyalty: Reader, status: Annotated[str | None, Query(pattern="^[a-z]{1,16}$")] = None,
                   member_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Referrals, newest first: all, one member's (as referrer or friend), or in one status
    (``invited``, ``qualified``, ``rewarded``, ``void``, ``refused``)."""
    return {"referrals": [_out(view) for view in loyalty.referrals(member_id, status=status, limit=limit)]}


__all__ = ["router"]
