"""Webhooks in: a genuine delivery is stored before its 200, a duplicate stores nothing new,
and a forged, stale, truncated or unsigned one is refused with 401 and leaves no trace."""

from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import func, select

from loyalty_sdk.core.storage import inbox as inbox_table
from loyalty_sdk.server import inbox
from loyalty_sdk.server.custom import sign, webhook_secret

from .conftest import SECRET_KEY, SHOP, order_document, signed_headers


def stored(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox_table)).scalar_one()


def test_a_signed_delivery_is_stored_and_answered_200(client, runtime, push):
    answer = push("orders/paid", order_document("1001"), delivery="d-1")
    assert answer.status_code == 200
    assert answer.json() == {"accepted": True}
    with runtime.db.connect() as conn:
        [row] = inbox.listing(conn)
        shown = inbox.show(conn, row["id"])
    assert (row["platform"], row["shop_id"], row["topic"], row["dedup_key"]) == ("custom", SHOP, "orders/paid", "d-1")
    assert row["status"] == "pending"
    assert orjson.loads(shown["body"])["id"] == "1001"
    assert shown["headers"]["x-loyalty-topic"] == "orders/paid"


def test_a_duplicate_delivery_answers_200_and_stores_nothing_new(client, runtime, push):
    push("orders/paid", order_document("1001"), delivery="d-1")
    again = push("orders/paid", order_document("1001"), delivery="d-1")
    assert again.status_code == 200
    assert again.json() == {"accepted": True, "duplicate": True}
    assert stored(runtime) == 1


def _post(client, body: bytes, headers: dict[str, str], shop: str = SHOP):
    return client.post(f"/webhooks/custom/{shop}", content=body, headers=headers)


BODY = orjson.dumps(order_document("1001"))


def _forged() -> dict[str, str]:
    headers = signed_headers(BODY, "orders/paid", "d-1")
    timestamp, digest = headers["x-loyalty-signature"].split(",")
    flipped = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    return {**headers, "x-loyalty-signature": f"{timestamp},{flipped}"}


def _wrong_secret() -> dict[str, str]:
    headers = signed_headers(BODY, "orders/paid", "d-1")
    return {**headers, "x-loyalty-signature": sign(webhook_secret("another-key", SHOP), BODY, int(time.time()))}


def _stale() -> dict[str, str]:
    return signed_headers(BODY, "orders/paid", "d-1", at=int(time.time()) - 301)


def _from_the_future() -> dict[str, str]:
    return signed_headers(BODY, "orders/paid", "d-1", at=int(time.time()) + 301)


def _truncated() -> dict[str, str]:
    headers = signed_headers(BODY, "orders/paid", "d-1")
    return {**headers, "x-loyalty-signature": headers["x-loyalty-signature"][:-8]}


def _missing() -> dict[str, str]:
    headers = signed_headers(BODY, "orders/paid", "d-1")
    del headers["x-loyalty-signature"]
    return headers


@pytest.mark.parametrize("headers", [_forged, _wrong_secret, _stale, _from_the_future, _truncated, _missing],
                         ids=["forged", "wrong-secret", "stale", "future", "truncated", "missing"])
def test_a_bad_signature_is_refused_and_nothing_is_stored(client, runtime, headers):
    answer = _post(client, BODY, headers())
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_signature"
    assert stored(runtime) == 0


def test_a_body_changed_after_signing_is_refused(client, runtime):
    headers = signed_headers(BODY, "orders/paid", "d-1")
    tampered = BODY.replace(b'"25.00"', b'"2500.00"')
    assert _post(client, tampered, headers).status_code == 401
    assert stored(runtime) == 0


def test_a_signature_for_another_shop_is_refused(client, runtime):
    runtime.add_shop("south.example", "custom")
    headers = signed_headers(BODY, "orders/paid", "d-1", shop="south.example")
    assert _post(client, BODY, headers, shop=SHOP).status_code == 401
    assert stored(runtime) == 0


def test_an_unknown_shop_gets_the_same_answer_as_a_forgery(client, runtime):
    headers = signed_headers(BODY, "orders/paid", "d-1", shop="nobody.example")
    answer = _post(client, BODY, headers, shop="nobody.example")
    assert answer.status_code == 401
    assert answer.json() == _post(client, BODY, _forged()).json()
    assert stored(runtime) == 0


def test_header_names_are_case_insensitive(client, runtime):
    headers = {name.upper(): value for name, value in signed_headers(BODY, "orders/paid", "d-1").items()}
    assert _post(client, BODY, headers).status_code == 200
    assert stored(runtime) == 1


def test_an_oversized_body_is_refused_with_413(client, runtime):
    body = b"x" * (1024 * 1024 + 1)
    answer = _post(client, body, signed_headers(body, "orders/paid", "d-big"))
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"
    assert stored(runtime) == 0


def test_credentials_sent_along_are_not_kept(client, runtime):
    headers = {**signed_headers(BODY, "orders/paid", "d-1"), "authorization": "Bearer secret-token"}
    assert _post(client, BODY, headers).status_code == 200
    with runtime.db.connect() as conn:
        [row] = inbox.listing(conn)
        assert "authorization" not in inbox.show(conn, row["id"])["headers"]


def test_the_shop_secret_depends_on_the_secret_key_and_the_shop():
    assert webhook_secret(SECRET_KEY, SHOP) != webhook_secret(SECRET_KEY, "south.example")
    assert webhook_secret(SECRET_KEY, SHOP) != webhook_secret("another-key", SHOP)


def test_when_the_inbox_cannot_store_the_platform_is_told_to_send_again(client, runtime):
    with runtime.db.begin() as conn:
        conn.exec_driver_sql("DROP TABLE inbox")
    answer = _post(client, BODY, signed_headers(BODY, "orders/paid", "d-1"))
    assert answer.status_code == 503
    assert answer.json()["error"] == "inbox_unavailable"
    assert answer.headers["retry-after"] == "5"


def test_concurrent_requests_sharing_commits_each_get_the_right_answer(runtime):
    import asyncio

    from loyalty_sdk.server.ingest import InboxWriter
    from loyalty_sdk.server.platforms import Accepted

    writer = InboxWriter(runtime.db, max_batch=50)
    keys = [f"d-{n % 100}" for n in range(400)]  # every key sent four times, all at once

    async def send_all() -> list[bool]:
        return await asyncio.gather(*(writer.store("custom", Accepted(SHOP, "orders/paid", key), {}, b"{}",
                                                   runtime.now()) for key in keys))

    answers = asyncio.run(send_all())
    writer.close()
    fresh = [key for key, new in zip(keys, answers, strict=True) if new]
    assert sorted(fresh) == sorted(set(keys))  # exactly one "stored" per delivery
    assert stored(runtime) == 100
    assert writer.commits == 8  # 400 requests waiting together: 8 commits of 50
