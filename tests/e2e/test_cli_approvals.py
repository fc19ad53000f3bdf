"""``rxledger approvals``: the inbox, decisions and the approval policies, against a SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.domain.permissions import ALL_SITES, Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.services import identity, queries
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Network]:
    use_fast_password_hashing(monkeypatch)
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    for name, grant in (
        ("boss", Grant(Role.MANAGER, net.central.id)),
        ("pharm", Grant(Role.PHARMACIST, net.central.id)),
        ("chief", Grant(Role.ADMIN, ALL_SITES)),
    ):
        identity.create_user(
            net.rt, net.actor, username=name, full_name=name, password=PASSWORD, grants=[grant]
        )
    return sqlite_url, net


def run(url: str, user: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.stdout, result.stderr


def ok_json(url: str, user: str, *args: str) -> Any:
    code, out, err = run(url, user, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def refused(url: str, user: str, *args: str) -> str:
    code, _, err = run(url, user, *args, "--json")
    assert code != 0
    return str(json.loads(err)["error"]["code"])


def test_a_held_adjustment_is_decided_from_the_inbox(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item("Insulin glargine pen", standard_cost=Decimal(10))
    net.receive(item, 100)
    [row] = queries.balances(net.rt, net.actor, item_id=item.id, site_id=net.central.id)
    held = ok_json(
        url,
        "boss",
        "adjust",
        "--site",
        "CENTRAL",
        item.sku,
        "--location",
        net.central.storage.code,
        "--lot",
        row.lot_number,
        "--delta",
        "-30",
        "--reason",
        "DAMAGED",
    )
    assert held["held"] is True
    approval = str(held["approval_id"])
    assert ok_json(url, "boss", "approvals", "inbox") == []  # not the requester's to decide
    [entry] = ok_json(url, "pharm", "approvals", "inbox")
    assert (entry["id"], entry["subject_type"], entry["value"]) == (
        held["approval_id"],
        "adjustment",
        "300.0000",
    )
    assert refused(url, "boss", "approvals", "approve", approval) == "SELF_APPROVAL_FORBIDDEN"
    code, out, _ = run(url, "pharm", "approvals", "approve", approval, "--note", "box seen")
    assert code == 0
    assert "approved; document" in out
    assert queries.balance(net.rt, net.actor, item_id=item.id, site_id=net.central.id) == 70
    assert refused(url, "pharm", "approvals", "reject", approval, "--note", "late") == (
        "STATUS_CONFLICT"
    )


def test_policies_are_added_changed_and_retired(db: tuple[str, Network]) -> None:
    url, _ = db
    defaults = ok_json(url, "chief", "approvals", "policy", "list")
    assert [p["action"] for p in defaults] == ["adjustment", "order", "non_formulary_order"]
    added = ok_json(
        url,
        "chief",
        "approvals",
        "policy",
        "add",
        "order",
        "--roles",
        "manager",
        "--min-value",
        "500",
    )
    assert (added["action"], added["min_value"], added["approver_roles"]) == (
        "order",
        "500.0000",
        ["manager"],
    )
    pid = str(added["id"])
    assert refused(url, "boss", "approvals", "policy", "change", pid, "--retired") == "FORBIDDEN"
    changed = ok_json(
        url,
        "chief",
        "approvals",
        "policy",
        "change",
        pid,
        "--min-value",
        "none",
        "--min-units",
        "1,000",
        "--retired",
    )
    assert (changed["min_value"], changed["min_quantity"], changed["active"]) == (
        None,
        1000,
        False,
    )
    listed = ok_json(url, "chief", "approvals", "policy", "list")
    # retired, the order policy leaves the built-in default in force again
    assert [(p["action"], p["id"]) for p in listed] == [
        ("order", added["id"]),
        ("adjustment", None),
        ("order", None),
        ("non_formulary_order", None),
    ]
    assert listed[0]["active"] is False
    assert (
        refused(url, "chief", "approvals", "policy", "add", "lunch", "--roles", "manager")
        == "VALIDATION_ERROR"
    )
    assert (
        refused(url, "chief", "approvals", "policy", "change", pid, "--min-units", "lots")
        == "INVALID_QUANTITY"
    )
