"""Every hook of loyalty-sdk, in one module. Hookspecs are public API.

Rules are pure: they receive frozen objects and return values, and never touch the database
or a network. The engine calls them before the ledger transaction opens. Precedence between
implementations is an explicit ``priority`` or a reduction the engine performs, never the
order in which plugins registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from loyalty_sdk.core.models import (
        Activity,
        ActivityHistory,
        Award,
        Member,
        Order,
        Redemption,
        ReferralCheck,
        Reward,
        RewardUsage,
        TierDecision,
        TierStats,
    )
    from loyalty_sdk.core.program import Program
    from loyalty_sdk.messages.channels import Channel
    from loyalty_sdk.segments.model import Segment

PROJECT = "loyalty"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Earning
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_order_awards(order: Order, member: Member, program: Program) -> Sequence[Award] | None:
    """Points an order earns before multipliers.

    :param order: the paid order, all money in ``order.currency``.
    :param member: the member as of the order, with its current ``tier``.
    :param program: the validated program.
    :returns: awards to add, or None. Every implementation contributes; the engine sums them.
        Give an award a ``line_id`` when it comes from one line, so refunds of that line can
        take it back.

    Example: 10 points for any order over 100::

        @hookimpl
        def loyalty_order_awards(order, member, program):
            if sum(line.gross for line in order.lines) > 100:
                return [Award(10, "big order bonus", rule_id="big-order")]
    """


@hookspec
def loyalty_adjust_awards(
    awards: Sequence[Award], order: Order, member: Member, program: Program
) -> Sequence[Award] | None:
    """Bonus awards on top of the base awards: multipliers, campaigns, tier boosts.

    :param awards: the base awards every ``loyalty_order_awards`` implementation returned.
    :param order: the order those awards are for.
    :param member: the member as of the order, with its current ``tier``.
    :param program: the validated program (its campaigns, tiers and caps).
    :returns: extra awards (negative points allowed, e.g. a cap) or None. Implementations are
        collected and added. A ``wrapper=True`` implementation receives (from ``yield``) the list
        of the other implementations' non-None results, one list of awards each, and returns
        that list, possibly with a list appended: this is how caps apply across all bonuses.

    Example: double points on Saturdays and Sundays::

        @hookimpl
        def loyalty_adjust_awards(awards, order, member, program):
            if order.placed_at.astimezone(program.zone).weekday() >= 5:
                return [Award(a.points, "weekend double", "weekend", a.line_id) for a in awards]
    """


@hookspec
def loyalty_activity_awards(
    activity: Activity, member: Member, program: Program, history: ActivityHistory
) -> Sequence[Award] | None:
    """Points for something other than an order: signup, birthday, review, social follow...

    :param activity: what the member did, with its ``kind`` and ``payload``.
    :param member: the member who did it.
    :param program: the validated program (its ``activities`` section).
    :param history: how often this member already earned for this kind (today, this year,
        lifetime, in the program's time zone), so limits stay pure.
    :returns: awards or None; collected and summed.

    Example: 5 points per photo in a review::

        @hookimpl
        def loyalty_activity_awards(activity, member, program, history):
            if activity.kind == "review":
                return [Award(5 * activity.payload.get("photos", 0), "review photos", "photos")]
    """


# ---------------------------------------------------------------------------------------------
# Rewards
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_rewards(member: Member, program: Program) -> Sequence[Reward] | None:
    """The rewards this member may choose.

    :param member: the member asking, with its ``tier`` and balances.
    :param program: the validated program (its rewards catalog).
    :returns: rewards or None. Collected; a later reward with the same id as an earlier one
        does not replace it (ids are unique across the catalog).

    Example: a secret reward for gold members::

        @hookimpl
        def loyalty_rewards(member, program):
            if member.tier == "gold":
                return [Reward("vip-gift", "VIP gift", "free_product", 0, product_id="gift")]
    """


@hookspec
def loyalty_validate_redemption(
    member: Member, reward: Reward, points: int, usage: RewardUsage, program: Program
) -> None:
    """Veto a redemption by raising :class:`~loyalty_sdk.core.errors.RedemptionRefused`.

    :param member: the member redeeming.
    :param reward: the reward chosen.
    :param points: the points the member would spend (chosen amount for points_as_money).
    :param usage: how many times this member already redeemed this reward.
    :param program: the validated program.
    :returns: nothing; every implementation is called, and any one may raise.

    Example: no redemptions on the first day of membership::

        @hookimpl
        def loyalty_validate_redemption(member, reward, points, usage, program):
            if member.enrolled_at.date() == date.today():
                raise RedemptionRefused("new members redeem from tomorrow")
    """


@hookspec(firstresult=True)
def loyalty_issue_reward(redemption: Redemption, member: Member, shop: Any) -> str | None:
    """Create the discount code or credit on the store and return its code.

    Called after the redemption is posted, outside the ledger transaction.

    :param redemption: the posted redemption: its reward, points and money value.
    :param member: the member who redeemed.
    :param shop: the shop (tenant) record, with its platform and settings.
    :returns: the code, or None to let the next implementation answer. The first
        implementation that returns a value wins; platform plugins implement it, and a
        built-in ``trylast`` default makes a random local code for custom stores.

    Example::

        @hookimpl
        def loyalty_issue_reward(redemption, member, shop):
            return my_store.create_coupon(redemption.reward.value)
    """


# ---------------------------------------------------------------------------------------------
# Referrals
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_refuse_referral(check: ReferralCheck, program: Program) -> str | None:
    """Refuse a referral, with a reason the books keep (fraud checks, your own policy).

    Called when a friend signs up with a member's code (``check.stage == "referral"``) and when
    the friend's first qualifying order arrives (``"order"``), only for programs with a
    ``[referrals]`` section. A refused referral earns nobody anything; its reason shows in
    ``loyalty referrals list`` and the API. The built-in referrals plugin refuses
    self-referrals, the referrer's email, a friend who already bought, the referrer's payment
    method or address, and referrers over ``max_rewards``.

    :param check: the referral at this stage: code, referrer, friend, and at the order stage the
        order and digests of both sides' payment methods and addresses.
    :param program: the validated program (its ``referrals`` section is set).
    :returns: a reason (``"same household"``) to refuse, or None to let it through. Every
        implementation is called; the first reason returned is recorded.

    Example: friends must have an email on a different domain than the referrer's::

        @hookimpl
        def loyalty_refuse_referral(check, program):
            domains = {(m.email or "").partition("@")[2] for m in (check.referrer, check.referee)}
            if check.stage == "referral" and len(domains) == 1 and "" not in domains:
                return "friend's email is on the referrer's domain"
    """


# ---------------------------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def loyalty_resolve_tier(member: Member, stats: TierStats, program: Program) -> TierDecision | None:
    """Which tier the member holds at ``stats.as_of``.

    :param member: the member, with the ``tier`` it holds now.
    :param stats: the member's qualifying events (released points, spend, orders) that any
        tier window could need, and whether this evaluation follows a clawback.
    :param program: the validated program (its tiers and their policy).
    :returns: a :class:`TierDecision`; the first non-None answer wins. The built-in rule is
        ``trylast`` so a plugin of yours decides first.

    Example: Gold after 5 orders in 90 days::

        @hookimpl
        def loyalty_resolve_tier(member, stats, program):
            start = stats.as_of - timedelta(days=90)
            orders = sum(e.orders for e in stats.events if e.at > start)
            if orders >= 5:
                return TierDecision("gold", "5 orders in 90 days", {"orders": orders})
    """


# ---------------------------------------------------------------------------------------------
# Notifications (delivered from the outbox, at least once, after the ledger committed)
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_points_posted(event: dict[str, Any], program: Program) -> None:
    """Points were earned, spent, released, expired, clawed back or adjusted.

    :param event: ``{"id", "shop_id", "member_id", "kind", "points", "transaction_id", ...}``;
        ``id`` is stable across redeliveries, so receivers can deduplicate.
    :param program: the validated program.
    :returns: nothing. Every implementation is called; one that raises has the event delivered
        again later, so make receivers idempotent on ``event["id"]``.

    Example: mirror every posting into a CRM::

        @hookimpl
        def loyalty_points_posted(event, program):
            crm.upsert_points(event["id"], event["member_id"], event["points"])
    """


@hookspec
def loyalty_tier_changed(event: dict[str, Any], program: Program) -> None:
    """A member's tier changed.

    :param event: ``{"id", "member_id", "from", "to", "reason", ...}``; ``from`` or ``to`` is
        None when the member had or gets no tier.
    :param program: the validated program.
    :returns: nothing; every implementation is called, at least once per event.

    Example: tag promoted members in a CRM::

        @hookimpl
        def loyalty_tier_changed(event, program):
            crm.tag(event["member_id"], f"tier-{event['to']}")
    """


@hookspec
def loyalty_reward_issued(event: dict[str, Any], program: Program) -> None:
    """A reward was issued.

    :param event: ``{"id", "member_id", "reward_id", "code", "points", ...}``.
    :param program: the validated program.
    :returns: nothing; every implementation is called, at least once per event.

    Example: e-mail the code::

        @hookimpl
        def loyalty_reward_issued(event, program):
            mailer.send_code(event["member_id"], event["code"])
    """


@hookspec
def loyalty_points_expiring(event: dict[str, Any], program: Program) -> None:
    """Points will expire soon.

    :param event: ``{"id", "member_id", "points", "expires_at", "days_left"}``.
    :param program: the validated program.
    :returns: nothing; every implementation is called, at least once per event.

    Example: a push notification a week ahead::

        @hookimpl
        def loyalty_points_expiring(event, program):
            if event["days_left"] <= 7:
                push.send(event["member_id"], f"{event['points']} points expire soon")
    """


@hookspec
def loyalty_member_message(event: dict[str, Any], program: Program) -> None:
    """A member message was rendered for the webhook channel (``loyalty webhooks add URL
    --kind member_message`` sends it to e-mail and CRM tools such as Klaviyo or HubSpot).

    :param event: ``{"id", "member_id", "message_id", "kind", "category", "to", "customer_id",
        "locale", "subject", "text", "html", "data"}``; ``message_id`` is stable across retries.
    :param program: the validated program.
    :returns: nothing; every implementation is called, at least once per message.

    Example: hand the rendered message to an e-mail service::

        @hookimpl
        def loyalty_member_message(event, program):
            esp.send(event["to"], event["subject"], event["html"], idempotency_key=event["message_id"])
    """


@hookspec
def loyalty_member_redacted(event: dict[str, Any], program: Program) -> None:
    """A member's personal data was erased (their ledger stays, anonymous).

    :param event: ``{"id", "member_id", "customer_id", "reason"}``; ``customer_id`` is the
        platform id the member had, so a CRM can erase its own copy.
    :param program: the validated program.
    :returns: nothing; every implementation is called, at least once per event.

    Example::

        @hookimpl
        def loyalty_member_redacted(event, program):
            crm.forget(event["customer_id"])
    """


# ---------------------------------------------------------------------------------------------
# Segments and member messages
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_segments(program: Program) -> Sequence[Segment] | None:
    """Segments of your own, beside the built-in ones (``loyalty segments list``).

    :param program: the validated program (tiers, currency...), for segments that depend on it.
    :returns: :class:`~loyalty_sdk.segments.Segment` definitions, or None. Collected; a
        segment named like a built-in one replaces it, and two plugins naming the same segment
        is an error. A segment's ``query(context)`` builds a SQLAlchemy ``select`` over the
        tables of :mod:`loyalty_sdk.core.storage` whose first column is ``member_id`` and whose
        other columns are the figures exported with each member; ``context`` gives the
        ``shop_id``, ``as_of``, the ``params`` (defaults overridden by ``--param k=v`` or the
        URL's query) and ``epoch(column)`` for date arithmetic on either engine. The query only
        builds SQL; the export runs it, scoped to one shop.

    Example: members who enrolled in the last ``days`` days::

        @hookimpl
        def loyalty_segments(program):
            def new_members(ctx):
                m = storage.members.c
                since = ctx.as_of - timedelta(days=ctx.params["days"])
                return select(m.id.label("member_id"), m.enrolled_at).where(
                    m.shop_id == ctx.shop_id, m.enrolled_at > since)
            return [Segment("new-members", "Enrolled recently", new_members, {"days": 30})]
    """


@hookspec
def loyalty_channels() -> Sequence[Channel] | None:
    """Channels member messages go out through, beside the built-in SMTP and webhook ones.

    :returns: objects satisfying :class:`loyalty_sdk.messages.channels.Channel`, or None.
        Collected. A channel has a unique ``name`` (it keys the sent log: each message goes
        out at most once per event and channel), ``enabled(shop)`` (whether it sends for that
        shop now) and ``send(message)``, which delivers one rendered
        :class:`~loyalty_sdk.messages.Message` (recipient, subject, text and HTML bodies,
        locale, data). ``send`` raising :class:`~loyalty_sdk.messages.Undeliverable` skips the
        message for good (no address, say); any other exception retries it later with backoff.
        Members without marketing consent are never handed marketing messages. A channel may
        also have ``close()``: it is called after each batch of sends, to let go of a
        connection the batch shared.

    Example: text messages through an SMS gateway::

        @hookimpl
        def loyalty_channels():
            return [SmsChannel(api_key=os.environ["SMS_KEY"])]
    """


# ---------------------------------------------------------------------------------------------
# Platforms
# ---------------------------------------------------------------------------------------------


@hookspec
def loyalty_platforms() -> Sequence[Any] | None:
    """Platform adapters: how a store platform's webhooks enter the books.

    :returns: objects satisfying :class:`loyalty_sdk.server.platforms.PlatformAdapter`, or
        None; collected. An adapter has a ``name`` (as in ``loyalty shops add NAME ...``), the
        ``webhook_paths`` the server routes to it, ``verify(request, shops)`` (check the
        signature on the raw body; return the shop, the topic and the delivery's dedup key, or
        raise ``SignatureRejected``), ``parse(delivery, shop)`` (the core events a stored
        delivery stands for) and, optionally, a FastAPI ``router`` with the platform's other
        routes (an OAuth install, say). Two plugins naming the same platform is an error at
        start.

    Example::

        @hookimpl
        def loyalty_platforms():
            return [ShopifyAdapter()]
    """
