"""``loyalty referrals code|add|list`` against a program with a [referrals] section."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import _env, assert_clean_error, invoke

from loyalty_sdk.facade import Loyalty

PROGRAM = """
[earn]
pending_days = 0

[referrals]
referrer_points = 500
referee_points = 200
link = "https://shop.example/r/{code}"
"""


def test_a_member_shares_a_code_a_friend_uses_it_and_the_list_says_what_happened(tmp_path: Path):
    (tmp_path / "loyalty.toml").write_text(PROGRAM)
    env = _env(tmp_path / "ledger.db", LOYALTY_PROGRAM=str(tmp_path / "loyalty.toml"))
    with Loyalty(env["LOYALTY_DATABASE_URL"], str(tmp_path / "loyalty.toml"), entry_points=False) as loyalty:
        loyalty.enroll("ada", email="ada@example.com")

    shared = invoke(["referrals", "code", "ada", "--json"], env)
    assert shared.exit_code == 0, shared.output
    code = json.loads(shared.stdout)["code"]
    assert json.loads(shared.stdout)["link"] == f"https://shop.example/r/{code}"
    assert invoke(["referrals", "code", "ada"], env).stdout.split() == [code, f"https://shop.example/r/{code}"]

    added = invoke(["referrals", "add", code, "bob@example.com", "--at", "2026-03-01"], env)
    assert added.exit_code == 0 and "invited" in added.stdout
    refused = invoke(["referrals", "add", code, "ada@example.com", "--json"], env)
    assert json.loads(refused.stdout)["reason"] == "a member cannot refer themselves"

    listed = json.loads(invoke(["referrals", "list", "--json"], env).stdout)["referrals"]
    assert [(r["status"], r["reason"]) for r in listed] == [
        ("refused", "a member cannot refer themselves"), ("invited", None)]
    only = json.loads(invoke(["referrals", "list", "--status", "invited", "--json"], env).stdout)["referrals"]
    assert len(only) == 1
    table = invoke(["referrals", "list"], env)
    assert table.exit_code == 0 and "refused" in table.stdout and code in table.stdout

    assert_clean_error(invoke(["referrals", "add", "NOPE2345", "cy"], env), "no member has referral code 'NOPE2345'")
    assert_clean_error(invoke(["referrals", "list", "--status", "bogus"], env), "status must be one of")


def test_a_program_without_referrals_says_so(tmp_path: Path):
    env = _env(tmp_path / "ledger.db")
    with Loyalty(env["LOYALTY_DATABASE_URL"], entry_points=False) as loyalty:
        loyalty.enroll("ada")
    assert_clean_error(invoke(["referrals", "code", "ada"], env), "no [referrals] section")
