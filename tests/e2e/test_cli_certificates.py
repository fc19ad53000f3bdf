"""``rxledger certificate`` end to end, against a real SQLite file: a technician attaches a
cannabis lot's certificate, a pharmacist passes it, and the lot is released."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import LotStatus
from rxledger.domain.permissions import Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.services import catalog, identity
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import build_network
from tests.conftest import NOW
from tests.e2e.api_support import PASSWORD, use_fast_password_hashing
from tests.stewardship_builders import PDF, cannabis_item, lot_of, metrc_tag, receive_packages


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """A held cannabis lot at CENTRAL, a pharmacist and a technician there."""
    use_fast_password_hashing(monkeypatch)
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy()))
    item = cannabis_item(net)
    receive_packages(net, item, [metrc_tag(1)])
    for name, role in (("pharm", Role.PHARMACIST), ("tech", Role.TECHNICIAN)):
        identity.create_user(
            net.rt,
            net.actor,
            username=name,
            full_name=name,
            password=PASSWORD,
            grants=[Grant(role, net.central.id)],
        )
    lot_id = lot_of(net, item)
    engine.dispose()
    return sqlite_url, lot_id


def run(url: str, user: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database", url, "--user", user, *args])
    return result.exit_code, result.stdout, result.stderr


def _status(url: str, lot_id: int) -> LotStatus:
    engine = create_db_engine(url)
    try:
        rt = Runtime(engine=engine, clock=ManualClock(NOW), policy=LedgerPolicy())
        org = catalog.organization_by_code(rt)
        actor = identity.console_actor(rt, org.id, "pharm")
        return catalog.get_lot(rt, actor, lot_id).status
    finally:
        engine.dispose()


def test_a_certificate_is_attached_and_passed_from_the_command_line(
    db: tuple[str, int], tmp_path: Path
) -> None:
    url, lot_id = db
    pdf = tmp_path / "coa.pdf"
    pdf.write_bytes(PDF)
    # when the technician attaches it
    code, out, err = run(url, "tech", "certificate", "attach", str(lot_id), str(pdf), "--json")
    assert code == 0, err
    attached = json.loads(out)
    assert (attached["lab_result"], attached["filename"]) == ("pending", "coa.pdf")
    # then the technician may not pass it (exit 6), and the pharmacist does
    code, _, err = run(url, "tech", "certificate", "pass", str(attached["id"]))
    assert (code, "FORBIDDEN" in err) == (6, True)
    assert _status(url, lot_id) is LotStatus.ON_HOLD
    code, out, err = run(url, "pharm", "certificate", "pass", str(attached["id"]), "--json")
    assert code == 0, err
    assert json.loads(out)["lab_result"] == "passed"
    assert _status(url, lot_id) is LotStatus.AVAILABLE
    # and deciding again is a conflict (exit 5); the list shows the one certificate
    code, _, err = run(url, "pharm", "certificate", "fail", str(attached["id"]))
    assert (code, "STATUS_CONFLICT" in err) == (5, True)
    code, out, _ = run(url, "tech", "certificate", "list", str(lot_id))
    assert code == 0
    assert "coa.pdf" in out
