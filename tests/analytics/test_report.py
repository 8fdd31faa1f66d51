"""``loyalty report`` and ``GET /api/v1/analytics/...`` answer the figures of the library, and
the HTML report holds every section, self-contained."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from loyalty_sdk.analytics import report, summary
from loyalty_sdk.analytics.commands import render_html
from loyalty_sdk.cli import app
from loyalty_sdk.server import auth
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

from .history import PERIOD, PROGRAM_TOML

SECTIONS = ("summary", "members-vs-non-members", "cohorts", "liability", "tiers", "rules", "campaigns")


def test_the_html_report_has_every_section_and_nothing_external(store):
    page = render_html(report(store, PERIOD))
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert page.count("<svg") >= 5  # members vs non-members, cohorts, liability, tiers, rules
    assert not re.search(r"(src|href)=|https?://|<script", page)
    assert "81.40%" in page and "4.95 USD" in page  # member revenue share, liability
    assert "50.00%" in page  # the January cohort, second month


def test_the_cli_prints_the_same_figures(store, tmp_path, database_url):
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM_TOML, encoding="utf-8")
    env = {"LOYALTY_DATABASE_URL": database_url, "LOYALTY_PROGRAM": str(program)}
    html = tmp_path / "report.html"
    args = ["report", "--from", "2026-01-01", "--to", "2026-06-01", "--html", str(html)]
    printed = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert printed.exit_code == 0, printed.output
    figures = json.loads(printed.stdout)
    assert figures["summary"]["members"] == summary(store, PERIOD).members.as_dict()
    assert figures["summary"]["lifetime_value"] == {"amount": "210.00", "currency": "USD"}
    assert figures["cohorts"]["cohorts"][0]["retained"] == [2, 1, 0, 1, 0]
    assert all(f'<section id="{section}">' in html.read_text(encoding="utf-8") for section in SECTIONS)
    table = CliRunner().invoke(app, args, env={**env, "COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "Members against non-members" in table.stdout and "52.50 USD" in table.stdout


def test_the_api_answers_the_same_figures_for_the_keys_shop(database_url, clock, store):
    settings = Settings(database_url=database_url, secret_key="analytics-test-secret")
    with Runtime(settings, program=store.program, clock=clock, entry_points=False) as runtime:
        key, _ = auth.create_key(runtime.db, "default", "read")
        headers = {"Authorization": f"Bearer {key}"}
        query = {"from": "2026-01-01", "to": "2026-06-01"}
        client: TestClient
        with serving(runtime) as client:
            answers = {name: client.get(f"/api/v1/analytics/{name}", params=query, headers=headers)
                       for name in ("summary", "cohorts", "liability", "tiers", "rules", "campaigns", "report")}
            assert client.get("/api/v1/analytics/summary").status_code == 401
            assert client.get("/api/v1/analytics/summary", params={"from": "soon"},
                              headers=headers).status_code == 422
        assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 200)
        expected = report(store, PERIOD).as_dict()
        assert answers["summary"].json() == expected["summary"]
        assert answers["report"].json() == expected
        assert answers["liability"].json()["points"][-1]["value"] == {"amount": "4.95", "currency": "USD"}
        assert answers["tiers"].json()["distribution"] == {"bronze": 3, "silver": 3}
        assert answers["campaigns"].json()["campaigns"][0]["order_lift"] == "1.0000"
        assert answers["rules"].json() == expected["rules"]
        assert [r["rule_id"] for r in answers["rules"].json()["rules"]] == ["earn.spend", "campaign.double",
                                                                           "activity.review"]

