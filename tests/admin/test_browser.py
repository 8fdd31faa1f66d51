"""The admin pages in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; never a downloaded browser) against ``loyalty serve`` on loopback.

Screenshots land in the test's tmp_path and in build/screenshots/ (git-ignored) to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from server.test_serve_e2e import LOYALTY, free_port, wait_until

from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.facade import Loyalty

from .conftest import ADMIN_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="the browser tests drive Debian's Chromium and "
                                "/usr/bin/chromium is missing: `make browsers` (apt-get install -y chromium)")
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def seed(database_url: str) -> None:
    """A shop with a few members, one of whom (Ada) has ordered."""
    with Loyalty(database_url, entry_points=False) as books:
        books.enroll("cust-7", email="ada@example.com", name="Ada Lovelace")
        for n in range(1, 4):
            books.enroll(f"cust-{n}", email=f"member{n}@example.com", name=f"Member {n}")
            books.adjust(f"cust-{n}", 200 * n, "imported from the old program")
        books.record_order(Order(
            order_id="1001", member=MemberRef.parse("cust-7"), placed_at=datetime.now(UTC), currency="USD",
            lines=[LineItem(line_id="mug", product_id="mug", quantity=2, unit_price=Money(Decimal("24.50"), "USD"))]))


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    seed(database_url)
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url, "LOYALTY_API_KEY": ADMIN_KEY,
           "LOYALTY_SECRET_KEY": "browser-test-secret"}
    env.pop("LOYALTY_PROGRAM", None)
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen([LOYALTY, "serve", "--port", str(port)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is None and httpx.get(f"{base}/api/v1/health").status_code == 200,
                   f"loyalty serve (log: {tmp_path / 'serve.log'})")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[object]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def test_an_admin_signs_in_finds_a_member_and_adjusts_their_points(server, browser_page, tmp_path, backend):
    page = browser_page
    shots: list[Path] = []

    def shoot(name: str) -> None:
        path = tmp_path / f"admin-{backend}-{len(shots) + 1}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.goto(f"{server}/admin/")
    assert page.url.startswith(f"{server}/admin/sign-in")
    shoot("sign-in")
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button:text('Sign in')")
    page.wait_for_url(f"{server}/admin/")

    cards = dict(zip(page.locator(".cards dt").all_inner_texts(),
                     page.locator(".cards dd:not(.note)").all_inner_texts(), strict=True))
    assert cards["Members"] == "4"
    assert cards["Points liability"] == "12.49 USD"  # 200 + 400 + 600 adjusted, 49 earned, at 0.01
    assert page.locator("svg.chart").count() >= 4
    shoot("dashboard")

    page.click("nav >> text=Members")
    page.fill("input[name=q]", "ada@")
    page.click("button:text('Find')")
    page.click("text=Ada Lovelace")
    page.wait_for_selector("h1:text('Ada Lovelace')")
    assert "order 1001" in page.inner_text("#history")
    shoot("member")

    page.fill("input[name=points]", "25")
    page.fill("input[name=reason]", "Sorry for the late parcel")
    page.click("button:text('Post adjustment')")
    page.wait_for_selector(".notice")
    first = page.locator("#history tbody tr").first.inner_text()
    assert "Sorry for the late parcel" in first and "+25" in first and "by admin: admin key" in first
    assert page.inner_text("#available") == "25"
    shoot("adjusted")

    page.click("nav >> text=Audit")
    assert "Sorry for the late parcel" in page.inner_text("#audit")
    shoot("audit")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in shots:
        assert path.stat().st_size > 1000
        shutil.copy(path, SCREENSHOTS / path.name)
