"""Signing in and out of the admin pages: who gets in, for how long, and CSRF on every form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loyalty_sdk.admin import sessions
from loyalty_sdk.core.storage import admin_audit, admin_sessions
from loyalty_sdk.server.auth import create_key, revoke_key
from loyalty_sdk.testing import serving

from .conftest import ADMIN_KEY, OTHER_SHOP, SHOP, form_value


def audit_actions(runtime, action=None):
    query = select(admin_audit.c.action, admin_audit.c.actor, admin_audit.c.shop_id, admin_audit.c.details)
    if action:
        query = query.where(admin_audit.c.action == action)
    with runtime.db.connect() as conn:
        return conn.execute(query.order_by(admin_audit.c.id)).all()


def test_a_signed_out_page_request_goes_to_sign_in_and_a_signed_out_post_is_refused(client, runtime):
    page = client.get("/admin/members?q=ada", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/sign-in?next=/admin/members%3Fq%3Dada"
    member = runtime.loyalty(SHOP).member("cust-7")
    posted = client.post(f"/admin/members/{member.id}/adjustments", data={"points": "50", "reason": "x"})
    assert posted.status_code == 401
    assert runtime.loyalty(SHOP).balance("cust-7").available == 0
    assert client.post("/admin/inbox/retry").status_code == 401


def test_signing_in_sets_a_strict_http_only_session_cookie_and_goes_where_asked(client, sign_in, runtime):
    answer = sign_in(next="/admin/members?q=ada")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/members?q=ada"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{sessions.COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert f"Max-Age={sessions.SESSION_SECONDS}" in cookie and "Secure" not in cookie  # plain http here
    page = client.get("/admin/members?q=ada")
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]
    # Only the digest of the cookie is kept.
    value = cookie.split(";")[0].split("=", 1)[1]
    with runtime.db.connect() as conn:
        assert value not in {row.digest for row in conn.execute(select(admin_sessions))}
    assert [(row.action, row.actor, row.shop_id) for row in audit_actions(runtime)] == [
        ("sign_in", "admin key", SHOP)]


def test_the_cookie_is_secure_over_https(runtime):
    with serving(runtime) as plain:
        https = TestClient(plain.app, base_url="https://testserver")
        token = form_value(https.get("/admin/sign-in").text, "csrf")
        answer = https.post("/admin/sign-in", data={"key": ADMIN_KEY, "csrf": token}, follow_redirects=False)
        assert answer.status_code == 303
        assert "Secure" in next(c for c in answer.headers.get_list("set-cookie") if c.startswith(sessions.COOKIE))


def test_a_wrong_key_or_a_sign_in_post_without_its_form_token_signs_nobody_in(client, sign_in, runtime):
    refused = sign_in(key="lk_not-a-real-key")
    assert refused.status_code == 401 and "not a valid API key" in refused.text
    assert sessions.COOKIE not in refused.cookies
    forged = client.post("/admin/sign-in", data={"key": ADMIN_KEY, "csrf": "guessed"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/admin/", follow_redirects=False).status_code == 303
    with runtime.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(admin_sessions)).scalar_one() == 0


def test_only_local_admin_pages_are_followed_after_sign_in(sign_in):
    for elsewhere in ("https://evil.example/admin/", "//evil.example/admin/", "/api/v1/members"):
        assert sign_in(next=elsewhere).headers["location"] == "/admin/"


def test_a_wrong_csrf_token_is_refused_and_changes_nothing(client, sign_in, runtime, member_page):
    sign_in()
    page = member_page()
    member = runtime.loyalty(SHOP).member("cust-7")
    for token in ("", "wrong", form_value(page, "csrf")[:-1] + "x"):
        answer = client.post(f"/admin/members/{member.id}/adjustments",
                             data={"points": "50", "reason": "goodwill", "csrf": token, "nonce": "n1"})
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert runtime.loyalty(SHOP).balance("cust-7").available == 0
    assert runtime.loyalty(SHOP).history("cust-7") == []
    assert audit_actions(runtime, "adjust") == []
    assert client.post("/admin/sign-out", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/admin/").status_code == 200  # still signed in


def test_signing_out_ends_the_session_for_good(client, sign_in, runtime):
    sign_in()
    cookie = client.cookies[sessions.COOKIE]
    csrf = form_value(client.get("/admin/").text, "csrf")
    answer = client.post("/admin/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/sign-in"
    client.cookies.set(sessions.COOKIE, cookie, path="/admin")  # a copy of the cookie kept elsewhere
    assert client.get("/admin/", follow_redirects=False).status_code == 303
    assert [row.action for row in audit_actions(runtime)] == ["sign_in", "sign_out"]


def test_a_session_expires(client, sign_in, clock):
    sign_in()
    clock.advance(seconds=sessions.SESSION_SECONDS - 60)
    assert client.get("/admin/").status_code == 200
    clock.advance(seconds=61)
    answer = client.get("/admin/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/sign-in")


def test_a_shop_key_signs_in_to_its_own_shop_only_and_its_revocation_ends_the_session(client, sign_in, runtime):
    key, info = create_key(runtime.db, SHOP, "write", label="back office")
    assert sign_in(key=key, shop=OTHER_SHOP).status_code == 401
    assert sign_in(key=key, shop="").status_code == 303
    page = client.get("/admin/members?q=e").text  # both names have an e
    assert "Ada Lovelace" in page and "Bob Other" not in page
    bob = runtime.loyalty(OTHER_SHOP).member("cust-9")
    assert client.get(f"/admin/members/{bob.id}").status_code == 404
    csrf = form_value(page, "csrf")
    assert client.post("/admin/shop", data={"shop": OTHER_SHOP, "csrf": csrf}).status_code == 403
    assert audit_actions(runtime)[0].actor == f"key {info['id']} ({info['prefix']}…)"
    revoke_key(runtime.db, info["id"])
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_a_read_key_looks_but_does_not_change(client, sign_in, runtime, member_page):
    key, _ = create_key(runtime.db, SHOP, "read")
    sign_in(key=key)
    page = member_page()
    assert "read only" in page
    member = runtime.loyalty(SHOP).member("cust-7")
    answer = client.post(f"/admin/members/{member.id}/adjustments",
                         data={"points": "50", "reason": "goodwill", "csrf": form_value(page, "csrf")})
    assert answer.status_code == 403
    assert runtime.loyalty(SHOP).balance("cust-7").available == 0


def test_the_admin_key_switches_shops_and_a_changed_admin_key_ends_its_sessions(client, sign_in, runtime):
    sign_in()
    csrf = form_value(client.get("/admin/").text, "csrf")
    assert client.post("/admin/shop", data={"shop": "nowhere.example", "csrf": csrf}).status_code == 404
    client.post("/admin/shop", data={"shop": OTHER_SHOP, "csrf": csrf})
    assert "Bob Other" in client.get("/admin/members?q=bob").text
    assert audit_actions(runtime, "switch_shop")[0].shop_id == OTHER_SHOP
    with runtime.db.begin() as conn:
        conn.execute(admin_sessions.update().values(key_check="an older admin key's"))
    assert client.get("/admin/", follow_redirects=False).status_code == 303
