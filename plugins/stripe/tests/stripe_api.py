"""A local stand-in for the parts of Stripe's API the plugin calls (localstripe has no
promotion codes, balance transactions, checkout sessions or invoice payments): writes answer
as Stripe does and are kept in ``calls``; reads serve what the test put in ``sessions``,
``session_items``, ``invoice_payments`` and ``invoice_lines``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from stripe_events import stripe_list

from loyalty_sdk.testing import StandIn


class FakeStripe:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, list[str]], str | None]] = []
        self.reads: list[tuple[str, dict[str, list[str]]]] = []
        self.failures = 0
        self.sessions: dict[str, str] = {}  # payment intent -> checkout session id
        self.session_items: dict[str, list[dict[str, Any]]] = {}
        self.invoice_payments: dict[str, str] = {}  # payment intent -> invoice id
        self.invoice_lines: dict[str, list[dict[str, Any]]] = {}
        self.stand_in = StandIn(self._answer)
        self.url = self.stand_in.url

    def close(self) -> None:
        self.stand_in.close()

    def _answer(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        if headers[":method"] == "GET":
            return self._read(path)
        form = parse_qs(body.decode())
        self.calls.append((path, form, headers.get("idempotency-key")))
        if self.failures:
            self.failures -= 1
            return 500, {"error": {"type": "api_error", "message": "Stripe is having a bad day"}}
        if path == "/v1/coupons":
            return 200, {"id": "co_1", "object": "coupon", **{k: v[0] for k, v in form.items()}}
        if path == "/v1/promotion_codes":
            return 200, {"id": "promo_1", "object": "promotion_code", "code": form["code"][0]}
        return 200, {"id": "cbtxn_1", "object": "customer_balance_transaction", "amount": int(form["amount"][0])}

    def _read(self, target: str) -> tuple[int, Any]:
        url = urlsplit(target)
        query = parse_qs(url.query)
        self.reads.append((url.path, query))
        parts = url.path.strip("/").split("/")
        if url.path == "/v1/checkout/sessions":
            found = self.sessions.get(query["payment_intent"][0])
            return 200, stripe_list([{"id": found, "object": "checkout.session"}] if found else [], url.path)
        if parts[:3] == ["v1", "checkout", "sessions"] and parts[-1] == "line_items":
            return 200, stripe_list(self.session_items.get(parts[3], []), url.path)
        if url.path == "/v1/invoice_payments":
            if "invoice" in query:
                paid_by = [pi for pi, invoice in self.invoice_payments.items() if invoice == query["invoice"][0]]
            else:
                paid_by = [query["payment[payment_intent]"][0]] if query["payment[payment_intent]"][0] in \
                    self.invoice_payments else []
            return 200, stripe_list([{"id": f"inpay_{pi}", "object": "invoice_payment", "status": "paid",
                                      "invoice": self.invoice_payments[pi],
                                      "payment": {"type": "payment_intent", "payment_intent": pi}}
                                     for pi in paid_by], url.path)
        if parts[:2] == ["v1", "invoices"] and parts[-1] == "lines":
            return 200, stripe_list(self.invoice_lines.get(parts[2], []), url.path)
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({url.path})"}}
