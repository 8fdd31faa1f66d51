"""The webhook channel (signed outbound webhooks, for Klaviyo- or HubSpot-style tools) and
channels of one's own through the ``loyalty_channels`` hook."""

from __future__ import annotations

import hmac

import httpx
import orjson

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.messages import Message, Undeliverable
from loyalty_sdk.server import outbound
from loyalty_sdk.server.custom import sign
from loyalty_sdk.server.outbound import Sender
from loyalty_sdk.server.scheduler import Scheduler
from loyalty_sdk.testing import StandIn

from . import SHOP, buy, join
from .conftest import SECRET_KEY


def test_the_webhook_channel_posts_each_message_signed_once(runtime, smtp_server, run_scheduler):
    tool = StandIn(lambda path, body, headers: (200, {}))
    try:
        endpoint = outbound.add_endpoint(runtime.db, SHOP, f"{tool.url}/klaviyo", ["member_message"], runtime.now())
        loyalty = runtime.loyalty(SHOP)
        join(loyalty, "ada", name="Ada")
        join(loyalty, "bob", consent="unsubscribed")
        buy(loyalty, "ada", 40, "o1")
        buy(loyalty, "bob", 40, "o2")  # marketing, and bob said no: on no channel
        with httpx.Client() as client:
            for _ in range(2):
                run_scheduler()
                Sender(runtime).run_once(client)
        assert len(tool.calls) == 1
        path, body, headers = tool.calls[0]
        assert path == "/klaviyo" and headers["x-loyalty-event-kind"] == "member_message"
        stamp = int(headers["x-loyalty-signature"].split(",")[0].removeprefix("t="))
        expected = sign(outbound.endpoint_secret(SECRET_KEY, endpoint["id"]), body, stamp)
        assert hmac.compare_digest(headers["x-loyalty-signature"], expected)
        message = orjson.loads(body)["data"]
        assert (message["kind"], message["category"], message["to"], message["customer_id"]) == (
            "points_earned", "marketing", "ada@example.com", "ada")
        assert message["subject"] == "You earned 40 points with Northwind Rewards"
        assert "<strong>40 points</strong>" in message["html"]
        assert smtp_server.inbox.subjects() == ["You earned 40 points with Northwind Rewards"]  # e-mailed as well
    finally:
        tool.close()


class Pager:
    """A channel of one's own: keeps what it is given, and cannot reach members named 'nobody'."""

    name = "pager"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def enabled(self, shop_id: str) -> bool:
        return shop_id == SHOP

    def send(self, message: Message) -> None:
        if message.customer_id == "nobody":
            raise Undeliverable("no pager number")
        self.sent.append(message)


class PagerPlugin:
    def __init__(self) -> None:
        self.pager = Pager()

    @hookimpl
    def loyalty_channels(self):
        return [self.pager]


def test_a_plugin_channel_receives_rendered_messages(make_runtime, smtp_server):
    plugin = PagerPlugin()
    runtime = make_runtime(smtp_server.port, plugins=(plugin,))
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "ada")
    join(loyalty, "nobody")
    buy(loyalty, "ada", 40, "o1")
    buy(loyalty, "nobody", 40, "o2")
    scheduler = Scheduler(runtime, name="test-scheduler")
    scheduler.run_once()
    scheduler.run_once()
    assert [(m.customer_id, m.kind, m.subject, m.locale) for m in plugin.pager.sent] == [
        ("ada", "points_earned", "You earned 40 points with Northwind Rewards", "en")]
    assert sorted(smtp_server.inbox.subjects()) == ["You earned 40 points with Northwind Rewards"] * 2
