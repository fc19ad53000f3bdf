"""``rxledger investigation`` and ``rxledger trace`` end to end, against a real SQLite file."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from rxledger.adapters import tables as t
from rxledger.adapters.database import create_db_engine
from rxledger.adapters.ingest.epcis_schema import epcis_validator
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.entrypoints.cli.controlled import WITNESS_PASSWORD_ENV
from rxledger.services import catalog, identity
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import build_network
from tests.conftest import NOW
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing
from tests.quarantine_builders import GTIN, QuarantineCase, dscsa_item, quarantine_case


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, QuarantineCase]:
    """A foreign bottle under investigation at CENTRAL, a pharmacist and a technician there."""
    use_fast_password_hashing(monkeypatch)
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy()))
    dscsa_item(net)
    case = quarantine_case(net)
    for name, role in (("pharm", Role.PHARMACIST), ("tech", Role.TECHNICIAN)):
        identity.create_user(
            net.rt,
            net.actor,
            username=name,
            full_name=name,
            password=PASSWORD,
            grants=[Grant(role, net.central.id)],
        )
    engine.dispose()
    return sqlite_url, case


def run(url: str, user: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_investigation_is_listed_and_closed_once_from_the_command_line(
    db: tuple[str, QuarantineCase],
) -> None:
    url, case = db
    # given the open investigation
    code, out, err = run(url, "tech", "investigation", "list", "--json")
    assert code == 0, err
    assert [(c["id"], c["serial"]) for c in json.loads(out)] == [(case.investigation_id, "FAKE1")]
    close = ("investigation", "close", str(case.investigation_id), "--outcome", "illegitimate")
    # when a technician closes it, or the pharmacist without the notification
    code, _, err = run(url, "tech", *close)
    assert (code, "FORBIDDEN" in err) == (6, True)
    code, _, err = run(url, "pharm", *close)
    assert (code, "NOTIFICATION_REQUIRED" in err) == (3, True)
    # when the pharmacist gives it
    notice = ("--notification-reference", "FDA-3911-9", "--notified-at", "2026-06-01T13:00:00Z")
    code, out, err = run(url, "pharm", *close, *notice, "--json")
    # then the package is destroyed and the investigation closed, once
    assert code == 0, err
    done = json.loads(out)
    assert done["document"]["doc_type"] == "destruction"
    assert (done["record"]["status"], done["record"]["notification_reference"]) == (
        "illegitimate",
        "FDA-3911-9",
    )
    code, _, err = run(url, "pharm", *close, *notice)
    assert (code, "INVESTIGATION_ALREADY_CLOSED" in err) == (5, True)


def test_a_note_and_a_bad_notification_time(db: tuple[str, QuarantineCase]) -> None:
    url, case = db
    code, out, err = run(url, "pharm", "investigation", "note", str(case.investigation_id), "hm")
    assert code == 0, err
    assert "pharm: hm" in out
    bad = ("--notification-reference", "FDA-1", "--notified-at", "yesterday")
    close = ("investigation", "close", str(case.investigation_id), "--outcome", "illegitimate")
    code, _, err = run(url, "pharm", *close, *bad)
    assert (code, "VALIDATION_ERROR" in err) == (3, True)


def test_the_trace_prints_an_epcis_document_or_a_table(db: tuple[str, QuarantineCase]) -> None:
    url, _ = db
    code, out, err = run(url, "tech", "trace", GTIN, "FAKE1", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert list(epcis_validator().iter_errors(document)) == []
    assert [e["bizStep"] for e in document["epcisBody"]["eventList"]] == ["receiving"]
    code, out, _ = run(url, "tech", "trace", GTIN, "FAKE1")
    assert code == 0
    assert "QUAR" in out
    assert "No shipment's transaction information lists this package." in out
    code, _, err = run(url, "tech", "trace", GTIN, "NOPE")
    assert (code, "SERIAL_NOT_FOUND" in err) == (4, True)


def test_a_discrepancy_is_listed_and_resolved_from_the_command_line(
    db: tuple[str, QuarantineCase],
) -> None:
    url, case = db
    # given the expired bottle held in quarantine
    code, out, err = run(url, "tech", "discrepancy", "list", "--json")
    assert code == 0, err
    held = {d["id"]: d["held"] for d in json.loads(out)}
    assert held[case.expired_discrepancy_id] > 0
    destroy = (
        "discrepancy",
        "resolve",
        str(case.expired_discrepancy_id),
        "--as",
        "destroy",
        "--reason",
        "REJECTED",
    )
    # when a technician tries, then the pharmacist destroys it
    code, _, err = run(url, "tech", *destroy)
    assert (code, "FORBIDDEN" in err) == (6, True)
    code, out, err = run(url, "pharm", *destroy, "--json")
    assert code == 0, err
    assert json.loads(out)["document"]["doc_type"] == "destruction"
    # and a second resolution is refused
    code, _, err = run(url, "pharm", *destroy)
    assert code == 5, err
    assert "DISCREPANCY_ALREADY_RESOLVED" in err


def test_schedule_ii_suspect_product_is_destroyed_with_a_witness(
    db: tuple[str, QuarantineCase], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the suspect product is a schedule II drug and a manager at CENTRAL may witness
    url, case = db
    engine = create_db_engine(url)
    net_rt = Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy())
    with net_rt.uow() as uow:
        uow.connection.execute(update(t.items).values(dea_schedule="CII"))
        org = uow.connection.execute(select(t.organizations.c.id)).scalar_one()
        uow.commit()
    admin = Actor.system(org, "setup")
    identity.create_user(
        net_rt, admin, username="mgr", full_name="mgr", password=PASSWORD,
        grants=[Grant(Role.MANAGER, case_site(net_rt, admin))],
    )  # fmt: skip
    engine.dispose()
    close = (
        "investigation", "close", str(case.investigation_id), "--outcome", "illegitimate",
        "--notification-reference", "FDA-3911-9", "--notified-at", "2026-06-01T13:00:00Z",
    )  # fmt: skip
    # when closed without a witness, or with a wrong witness password: refused
    code, _, err = run(url, "pharm", *close)
    assert (code, "WITNESS_REQUIRED" in err) == (3, True)
    monkeypatch.setenv(WITNESS_PASSWORD_ENV, "not the password")
    code, _, err = run(url, "pharm", *close, "--witness", "mgr")
    assert (code, "WITNESS_CREDENTIALS_INVALID" in err) == (6, True)
    # when the manager's password is given: destroyed, witnessed
    monkeypatch.setenv(WITNESS_PASSWORD_ENV, PASSWORD)
    code, out, err = run(url, "pharm", *close, "--witness", "mgr", "--json")
    assert code == 0, err
    assert json.loads(out)["document"]["doc_type"] == "destruction"


def case_site(rt: Runtime, actor: Actor) -> int:
    return catalog.site_by_code(rt, actor, "CENTRAL").id
