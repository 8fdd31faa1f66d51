"""localstripe as a real peer: it runs as its own process on 127.0.0.1, the stripe client
creates a customer and a confirmed payment intent there, localstripe delivers its signed
events to a running ``loyalty serve``, and the points show in the REST API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe
from stripe_events import WEBHOOK_SECRET

HERE = Path(__file__).parent
LOYALTY = str(Path(sys.executable).with_name("loyalty"))
ADMIN_KEY = "stripe-e2e-admin-key"

pytest.importorskip("localstripe", reason="localstripe (pip install loyalty-stripe[test]) runs the Stripe peer")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, auth=("sk_test_loyalty", ""))
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.05)


@pytest.fixture
def peers(tmp_path: Path):
    started = []
    stripe_port, serve_port = _port(), _port()
    log = (tmp_path / "peers.log").open("wb")
    localstripe = subprocess.Popen([sys.executable, str(HERE / "run_localstripe.py"), str(stripe_port),
                                    str(tmp_path / "localstripe.pickle")], stdout=log, stderr=subprocess.STDOUT)
    started.append(localstripe)
    program = tmp_path / "loyalty.toml"
    program.write_text("[earn]\npoints_per_unit = 1\npending_days = 0\n")
    stripe_url, serve_url = f"http://127.0.0.1:{stripe_port}", f"http://127.0.0.1:{serve_port}"
    # The server reads back from localstripe too: whether a checkout session or an invoice
    # reports each payment (it has neither list, and answers so).
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/shop.db", "LOYALTY_API_KEY": ADMIN_KEY,
           "LOYALTY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "LOYALTY_PROGRAM": str(program),
           "LOYALTY_STRIPE_API_KEY": "sk_test_loyalty", "LOYALTY_STRIPE_API_BASE": stripe_url}
    serve = subprocess.Popen([LOYALTY, "serve", "--port", str(serve_port)], env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    started.append(serve)
    _wait(f"{stripe_url}/v1/balance", localstripe, "localstripe")
    _wait(f"{serve_url}/api/v1/health", serve, "loyalty serve")
    httpx.post(f"{stripe_url}/_config/webhooks/loyalty",
               data={"url": f"{serve_url}/webhooks/stripe", "secret": WEBHOOK_SECRET}).raise_for_status()
    yield stripe_url, serve_url
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        process.wait(timeout=20)
    log.close()


def test_a_payment_made_at_localstripe_earns_in_a_running_server(peers):
    stripe_url, serve_url = peers
    client = stripe.StripeClient("sk_test_loyalty", base_addresses={"api": stripe_url}, max_network_retries=0)
    customer = client.v1.customers.create(params={"email": "jenny@example.com", "name": "Jenny Rosen"})
    intent = client.v1.payment_intents.create(params={
        "amount": 4250, "currency": "usd", "customer": customer.id, "payment_method": "pm_card_visa",
        "confirm": True})
    assert intent.status == "succeeded"

    def points() -> int | None:
        found = httpx.get(f"{serve_url}/api/v1/members", params={"customer_id": customer.id},
                          headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["members"]
        return found[0]["balance"]["available"] if found else None

    deadline = time.monotonic() + 30
    while points() != 42:  # 42.50 USD; localstripe delivers its events a second or so later
        assert time.monotonic() < deadline, f"no points after localstripe's webhooks (points: {points()})"
        time.sleep(0.1)
