"""schemathesis against ``/openapi.json``: every endpoint, fed generated requests (valid and
not), never answers 5xx and always answers what its schema promises.

The app runs on a SQLite ledger made when this module is collected (schemathesis reads the
schema then); the API tests run every endpoint on PostgreSQL too."""

from __future__ import annotations

import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from loyalty_sdk.core.program import default_program_text
from loyalty_sdk.server.app import create_app
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings

from .conftest import ADMIN_KEY, SECRET_KEY, SHOP, order_document

_ledger = Path(tempfile.mkdtemp(prefix="loyalty-fuzz-")) / "ledger.db"
# The built-in program with referrals on, so the referral endpoints do more than refuse.
_program = {**tomllib.loads(default_program_text(), parse_float=Decimal),
            "referrals": {"referee_points": 100, "referrer_points": 200}}
_runtime = Runtime(Settings(database_url=f"sqlite:///{_ledger}", secret_key=SECRET_KEY, api_key=ADMIN_KEY),
                   program=_program, entry_points=False)
_runtime.add_shop(SHOP, "custom")
app = create_app(_runtime, embedded=False)
with TestClient(app) as _client:  # a member with an order, so ids in paths can hit something
    _client.post("/api/v1/orders", params={"shop": SHOP}, json=order_document("1001"),
                 headers={"authorization": f"Bearer {ADMIN_KEY}"}).raise_for_status()

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# NUL characters are refused as bad input (PostgreSQL text cannot hold them) everywhere, a rule
# OpenAPI has no word for: the API's own tests cover it.
schema.config.generation.update(allow_x00=False)


@schema.auth()
class AdminKey:
    """The admin key on every generated request; schemathesis's own auth checks then send
    requests without it, or with a wrong one, and expect 401."""

    def get(self, case, context):
        return ADMIN_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_endpoint_answers_within_its_schema_and_never_5xx(case):
    # Every check but "schema-valid data is accepted": valid JSON can still break a rule the
    # schema cannot state (two lines with one id, a refund of an order never placed), and
    # those are 4xx problems by design.
    case.call_and_validate(params={"shop": SHOP}, excluded_checks=[schemathesis.checks.positive_data_acceptance])
