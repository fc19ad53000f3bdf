"""``rxledger supplier``, ``requisition`` and ``po`` end to end, against a real SQLite file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.domain.model import FormularyStatus
from rxledger.domain.permissions import Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.services import identity
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing


@pytest.fixture
def db(sqlite_url: str) -> tuple[str, Network]:
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    return sqlite_url, net


def run(url: str, user: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.stdout, result.stderr


def ok_json(url: str, user: str, *args: str) -> Any:
    code, out, err = run(url, user, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def refused(url: str, user: str, *args: str) -> tuple[int, str]:
    code, _, err = run(url, user, *args, "--json")
    return code, json.loads(err)["error"]["code"]


def supplier_selling(url: str, sku: str, *extra: str) -> None:
    code, out, err = run(url, "alice", "supplier", "add", "GLDW", "Great Lakes Drug", *extra)
    assert code == 0, err
    assert "GLDW" in out
    offer = ok_json(
        url, "alice", "supplier", "item", "GLDW", sku, "--pack-units", "100", "--price", "12.50"
    )
    assert offer["pack_units"] == 100


def test_a_requisition_is_approved_by_another_user_received_and_closed(
    db: tuple[str, Network],
) -> None:
    url, net = db
    item = net.item()
    supplier_selling(url, item.sku, "--gln", "0614141000012", "--lead-time", "2")
    suppliers = ok_json(url, "alice", "supplier", "list")
    assert [(s["code"], s["gln"]) for s in suppliers] == [("GLDW", "0614141000012")]
    # given alice's requisition of 100 packs (1,250.00: above the threshold)
    waiting = ok_json(
        url,
        "alice",
        "requisition",
        "create",
        "--site",
        "CENTRAL",
        "--supplier",
        "GLDW",
        "--line",
        f"{item.sku}=100",
        "--submit",
    )
    assert waiting["status"] == "submitted"
    rid = str(waiting["id"])
    # when alice approves it herself: refused with the stable code and exit status 6
    assert refused(url, "alice", "requisition", "approve", rid) == (6, "SELF_APPROVAL_FORBIDDEN")
    # then bob approves it and the PO is placed
    approved = ok_json(url, "bob", "requisition", "approve", rid, "--note", "ok")
    number = approved["purchase_order_number"]
    assert number == "PO-CENTRAL-000001"
    assert [o["number"] for o in ok_json(url, "bob", "po", "list", "--site", "CENTRAL")] == [number]
    # a partial receipt, retried with the same key
    receive = ("po", "receive", number, "--location", "RECV", "--line", "1:600:L1:2028-01-31")
    first = ok_json(url, "tess", *receive, "--key", "dock-1")
    again = ok_json(url, "tess", *receive, "--key", "dock-1")
    assert again["document"]["id"] == first["document"]["id"]
    assert again["document"]["replayed"] is True
    shown = ok_json(url, "tess", "po", "show", number)
    assert [(x["received_units"], x["open_units"], x["status"]) for x in shown["lines"]] == [
        (600, 9400, "partial")
    ]
    # too much is refused
    too_much = ("po", "receive", number, "--location", "RECV", "--line", "1:10401:L2:2028-01-31")
    assert refused(url, "tess", *too_much) == (5, "OVER_RECEIPT_LIMIT")
    on_order = ok_json(url, "tess", "po", "on-order", "--site", "CENTRAL")
    assert [(r["sku"], r["open_units"]) for r in on_order] == [(item.sku, 9400)]
    # closed with its short line
    closed = ok_json(url, "bob", "po", "close", number, "--note", "rest backordered")
    assert closed["status"] == "closed"
    assert ok_json(url, "tess", "po", "on-order") == []
    code, out, _ = run(url, "tess", "po", "show", number)
    assert code == 0
    assert "partial" in out


def test_a_substitute_is_received_against_a_line(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item()
    other = net.item("Cefalexin 250 mg capsule", strength="250 mg")
    supplier_selling(url, item.sku)
    ordered = ok_json(
        url,
        "alice",
        "requisition",
        "create",
        "--site",
        "CENTRAL",
        "--supplier",
        "GLDW",
        "--line",
        f"{item.sku}=2",
        "--submit",
    )
    number = ordered["purchase_order_number"]
    receive = ("po", "receive", number, "--location", "RECV", "--line", "1:50:S1:2028-01-31")
    swap = ("--substitute", f"1={other.sku}")
    assert refused(url, "tess", *receive, *swap) == (3, "SUBSTITUTE_NOT_EQUIVALENT")
    result = ok_json(url, "tess", *receive, *swap, "--reason", "shortage")
    assert result["purchase_order"]["lines"][0]["substitute_units"] == 50
    assert "shortage" in result["document"]["note"]


def test_a_non_formulary_order_waits_for_a_pharmacist(
    db: tuple[str, Network], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, net = db
    use_fast_password_hashing(monkeypatch)
    item = net.item(formulary_status=FormularyStatus.NON_FORMULARY)
    supplier_selling(url, item.sku)
    for name, role in (("buyer", Role.BUYER), ("boss", Role.MANAGER), ("pharm", Role.PHARMACIST)):
        identity.create_user(
            net.rt,
            net.actor,
            username=name,
            full_name=name,
            password=PASSWORD,
            grants=[Grant(role, net.central.id)],
        )
    waiting = ok_json(
        url,
        "buyer",
        "requisition",
        "create",
        "--site",
        "CENTRAL",
        "--supplier",
        "GLDW",
        "--line",
        f"{item.sku}=1",
        "--submit",
    )
    rid = str(waiting["id"])
    assert waiting["approval"]["pharmacist_required"] is True
    code, out, _ = run(url, "buyer", "requisition", "list", "--site", "CENTRAL")
    assert code == 0
    assert "pharmacist" in out
    assert refused(url, "boss", "requisition", "approve", rid) == (
        6,
        "PHARMACIST_APPROVAL_REQUIRED",
    )
    rejected = ok_json(url, "pharm", "requisition", "reject", rid, "--note", "use formulary")
    assert rejected["status"] == "rejected"
    listed = ok_json(url, "buyer", "requisition", "list", "--status", "rejected")
    assert [r["id"] for r in listed] == [waiting["id"]]


def test_bad_line_specs_are_refused(db: tuple[str, Network]) -> None:
    url, net = db
    item = net.item()
    supplier_selling(url, item.sku)
    base = ("requisition", "create", "--site", "CENTRAL", "--supplier", "GLDW")
    assert refused(url, "alice", *base, "--line", f"{item.sku}:3") == (3, "VALIDATION_ERROR")
    assert refused(url, "alice", *base, "--line", f"{item.sku}=3@7") == (
        4,
        "SUPPLIER_ITEM_NOT_FOUND",
    )
    assert refused(url, "alice", "po", "show", "PO-NOWHERE-000001") == (
        4,
        "PURCHASE_ORDER_NOT_FOUND",
    )
