"""``rxledger count`` end to end against a real SQLite file: plan, count, submit, recount by
someone else, investigate, approve."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import SystemClock
from rxledger.entrypoints.cli.app import app
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network


@pytest.fixture
def db(sqlite_url: str) -> tuple[str, Network]:
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    item = net.item()
    net.receive(item, 100)
    return sqlite_url, net


def run(url: str, user: str, *args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args, "--json"])
    return (
        result.exit_code,
        json.loads(result.stdout) if result.exit_code == 0 else None,
        result.stderr,
    )


def test_a_count_from_plan_to_approval(db: tuple[str, Network]) -> None:
    url, _ = db
    code, planned, err = run(url, "boss", "count", "plan", "--site", "CENTRAL", "--title", "Main")
    assert code == 0, err
    [line] = planned["lines"]
    assert run(url, "ann", "count", "tally", str(line["id"]), "90")[0] == 0
    code, submitted, err = run(url, "ann", "count", "submit", str(planned["id"]))
    assert code == 0, err
    # -10 capsules at 0.125 is beyond class C's 5 units: recount by someone else
    assert submitted["lines"][0]["status"] == "recount"
    code, _, err = run(url, "ann", "count", "recount", str(line["id"]), "90")
    assert code != 0
    assert "SELF_APPROVAL_FORBIDDEN" in err
    code, recounted, err = run(url, "bob", "count", "recount", str(line["id"]), "90")
    assert code == 0, err
    assert recounted["lines"][0]["status"] == "investigating"
    code, found, err = run(url, "cat", "count", "investigate", str(line["id"]))
    assert code == 0, err
    assert [m["change"] for m in found["movements"]] == [100]
    code, _, err = run(
        url,
        "cat",
        "count",
        "investigate",
        str(line["id"]),
        "--findings",
        "lost",
        "--reason",
        "COUNT",
    )
    assert code == 0, err
    code, approved, err = run(url, "dan", "count", "approve", str(line["id"]))
    assert code == 0, err
    assert approved["lines"][0]["status"] == "adjusted"
    assert approved["status"] == "closed"


def test_tolerances_are_kept_and_judge_the_count(db: tuple[str, Network]) -> None:
    url, _ = db
    code, listed, err = run(url, "boss", "count", "tolerances")
    assert code == 0, err
    assert [(t["program"], t["item_class"], t["default"]) for t in listed][:3] == [
        ("*", "A", True),
        ("*", "B", True),
        ("*", "C", True),
    ]
    code, kept, err = run(
        url, "boss", "count", "tolerance", "set", "manual", "C", "--units", "10", "--value", "5"
    )
    assert code == 0, err
    assert (kept["units"], kept["value"], kept["default"]) == (10, "5.0000", False)
    code, _, err = run(
        url, "boss", "count", "tolerance", "set", "weekly", "C", "--units", "1", "--value", "1"
    )
    assert code != 0
    assert "VALIDATION_ERROR" in err

    # -10 capsules at 0.125 (1.25): within the manual class C rule of 10 units and 5.00
    code, planned, err = run(url, "boss", "count", "plan", "--site", "CENTRAL", "--title", "Main")
    assert code == 0, err
    [line] = planned["lines"]
    assert run(url, "ann", "count", "tally", str(line["id"]), "90")[0] == 0
    code, submitted, err = run(url, "ann", "count", "submit", str(planned["id"]))
    assert code == 0, err
    assert submitted["lines"][0]["status"] == "accepted"

    code, now, err = run(url, "boss", "count", "tolerance", "unset", "manual", "C")
    assert code == 0, err
    assert (now["program"], now["units"], now["default"]) == ("*", 5, True)
    code, listed, err = run(url, "boss", "count", "tolerances")
    assert all(t["default"] for t in listed)
