"""The audit trail and its hash chain: every command leaves an audit row, and a row altered or
deleted directly in the database — by someone who first disables the immutability triggers — is
named as the first broken link by ``verify`` and by ``rxledger check``."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from rxledger.adapters import tables as t
from rxledger.adapters import tables_control as tc
from rxledger.adapters.database import create_db_engine
from rxledger.domain import errors
from rxledger.domain.clock import SystemClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.entrypoints.cli.app import app
from rxledger.services import audit, identity, integrity
from rxledger.services.audit import AuditQuery
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network, build_network


@pytest.fixture
def net(rt: Runtime) -> Network:
    # given a receipt and a dispense at CENTRAL
    net = build_network(rt)
    item = net.item()
    net.receive(item, 50)
    net.dispense(item, 20)
    return net


def org(net: Network) -> int:
    return net.actor.organization_id


def all_ids(rt: Runtime, table: Any) -> list[int]:
    with rt.engine.connect() as conn:
        return [r.id for r in conn.execute(select(table.c.id).order_by(table.c.id))]


def link_of(rt: Runtime, kind: str, row_id: int) -> int:
    links = tc.chain_links
    with rt.engine.connect() as conn:
        seq = conn.execute(
            select(links.c.seq).where(links.c.kind == kind, links.c.row_id == row_id)
        ).scalar_one()
    return int(seq)


def tamper(rt: Runtime, table: str, sql: str) -> None:
    """What an attacker with rights on the database does: switch the triggers off, then edit."""
    with rt.engine.begin() as conn:
        if rt.dialect == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        else:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable"))
        conn.execute(text(sql))


# --- recording ----------------------------------------------------------------------------------


def test_a_posting_writes_an_audit_row_with_who_what_where_and_the_stock_before(
    rt: Runtime,
) -> None:
    # given
    net = build_network(rt)
    item = net.item()
    net.receive(item, 50)
    # when a dispense comes through the API from 10.0.0.7
    with audit.origin("api 10.0.0.7"):
        dispense = net.dispense(item, 20)
    # then one audit row says who, from where, what, and the shelf's stock before and after
    rows = audit.search(rt, net.actor, AuditQuery(subject_type="document"), limit=10)
    entry = next(r for r in rows if r.subject_id == str(dispense.id))
    assert (entry.actor, entry.origin, entry.action) == (
        net.actor.username,
        "api 10.0.0.7",
        "post dispense",
    )
    assert entry.site_id == net.central.id
    assert entry.occurred_at == rt.clock.now()
    m = dispense.movements[0]
    body = entry.as_dict()
    assert body["after"] == {
        "reference": "RX-1",
        "reason": None,
        "lines": [[item.id, m.lot_id, m.from_location_id, m.to_location_id, 20]],
    }
    before = {(x[0], x[1], x[2]): x[3] for x in body["before"]["on_hand"]}
    assert before[(m.from_location_id, item.id, m.lot_id)] == 50
    # and the text is canonical JSON: sorted keys, no spaces
    assert entry.after == json.dumps(body["after"], sort_keys=True, separators=(",", ":"))
    # and outside any entry point the origin is the system
    receipt_row = next(r for r in rows if r.action == "post receipt")
    assert receipt_row.origin == "system"


def test_people_and_catalog_changes_are_audited(net: Network) -> None:
    # when a user is created with a role, then given another
    rt, admin = net.rt, net.actor
    user = identity.create_user(
        rt,
        admin,
        username="tech9",
        full_name="Tech Nine",
        password="long enough password",
        grants=[Grant(Role.TECHNICIAN, net.central.id)],
    )
    identity.grant_role(rt, admin, user.id, Grant(Role.PHARMACIST, net.central.id))
    # then both are in the trail, newest first, with the grants before and after
    rows = audit.search(rt, admin, AuditQuery(subject_type="user", subject_id=str(user.id)))
    assert [r.action for r in rows] == ["grant role", "create user"]
    granted = rows[0].as_dict()
    assert granted["before"] == {"grants": [["technician", net.central.id]]}
    assert granted["after"] == {
        "grants": [["pharmacist", net.central.id], ["technician", net.central.id]]
    }
    assert "password" not in (rows[1].after or "")
    # and the item the network was built with is there too
    assert audit.search(rt, admin, AuditQuery(action="create item"))


def test_a_site_user_sees_only_rows_of_their_sites_or_of_no_site(net: Network) -> None:
    # given a receipt at RETAIL as well
    item = net.item("Gauze pad")
    retail_doc = net.receive(item, 5, site=net.retail)
    central_only = Actor(org(net), "central-tech", 99, (Grant(Role.TECHNICIAN, net.central.id),))
    # when the CENTRAL technician searches
    rows = audit.search(net.rt, central_only, limit=None)
    # then RETAIL's posting is not among them, CENTRAL's and site-less rows are
    assert str(retail_doc.id) not in {r.subject_id for r in rows if r.subject_type == "document"}
    assert {r.site_id for r in rows} == {net.central.id, None}
    with pytest.raises(errors.Forbidden):
        audit.search(net.rt, central_only, AuditQuery(site_id=net.retail.id))


def test_who_was_granted_what_is_read_only_by_those_who_see_every_site(net: Network) -> None:
    # given a user granted a role at RETAIL
    identity.create_user(
        net.rt,
        net.actor,
        username="retail-pharmacist",
        full_name="Retail Pharmacist",
        password="correct horse battery staple",
        grants=[Grant(Role.PHARMACIST, net.retail.id)],
    )
    central_only = Actor(org(net), "central-tech", 99, (Grant(Role.TECHNICIAN, net.central.id),))
    auditor = Actor(org(net), "auditor", 98, (Grant(Role.AUDITOR, None),))
    # then a CENTRAL technician does not read it; an organization-wide auditor does
    seen = audit.search(net.rt, central_only, AuditQuery(subject_type="user"), limit=None)
    assert seen == []
    found = audit.search(net.rt, auditor, AuditQuery(subject_type="user"), limit=None)
    assert [r.action for r in found] == ["create user"]


# --- sealing and verifying ----------------------------------------------------------------------


def test_seal_then_verify_is_clean_and_sealing_twice_adds_nothing(net: Network) -> None:
    rt = net.rt
    movements, audit_rows = all_ids(rt, t.movements), all_ids(rt, tc.audit_log)
    # when
    sealed = audit.seal(rt, org(net))
    again = audit.seal(rt, org(net))
    report = audit.verify(rt, org(net))
    # then every movement and audit row has exactly one link, and the chain holds
    assert sealed == len(movements) + len(audit_rows)
    assert again == 0
    assert report.ok, report.broken
    assert (report.links, report.movements, report.audit_rows) == (
        sealed,
        len(movements),
        len(audit_rows),
    )
    assert (report.unsealed_movements, report.unsealed_audit_rows) == (0, 0)
    assert report.head_seq == sealed
    assert len(report.head_hash) == 64


def test_rows_committed_after_a_seal_are_sealed_next_time(net: Network) -> None:
    rt = net.rt
    first = audit.seal(rt, org(net))
    # given a posting after the seal
    item = net.item("Ibuprofen 200 mg tablet")
    net.receive(item, 10)
    assert audit.verify(rt, org(net)).unsealed_movements == 1
    # when sealing again
    added = audit.seal(rt, org(net))
    # then the new movement and the new audit rows (the item, the receipt) are appended
    report = audit.verify(rt, org(net))
    assert added == 3
    assert report.ok
    assert report.links == first + 3
    assert report.unsealed_movements == report.unsealed_audit_rows == 0


def test_a_movement_altered_directly_in_the_database_is_the_first_broken_link(
    net: Network,
) -> None:
    # given a sealed chain
    rt = net.rt
    audit.seal(rt, org(net))
    dispensed = all_ids(rt, t.movements)[-1]
    # when someone disables the trigger and changes the dispensed quantity
    tamper(rt, "movements", f"UPDATE movements SET quantity = 2 WHERE id = {dispensed}")
    # then verification names that movement's link, not an earlier one
    report = audit.verify(rt, org(net))
    assert not report.ok
    assert report.broken is not None
    assert (report.broken.seq, report.broken.kind, report.broken.row_id) == (
        link_of(rt, "movement", dispensed),
        "movement",
        dispensed,
    )
    assert report.broken.reason == "content_changed"
    assert report.broken.seq > 1


def test_an_audit_row_altered_directly_in_the_database_is_detected(net: Network) -> None:
    rt = net.rt
    audit.seal(rt, org(net))
    row_id = all_ids(rt, tc.audit_log)[0]
    # when the actor of an audit row is rewritten
    tamper(rt, "audit_log", f"UPDATE audit_log SET actor = 'someone else' WHERE id = {row_id}")
    # then
    broken = audit.verify(rt, org(net)).broken
    assert broken is not None
    assert (broken.seq, broken.kind, broken.row_id, broken.reason) == (
        link_of(rt, "audit", row_id),
        "audit",
        row_id,
        "content_changed",
    )


def test_a_deleted_movement_is_reported_missing(net: Network) -> None:
    rt = net.rt
    audit.seal(rt, org(net))
    first = all_ids(rt, t.movements)[0]
    # when the receipt's movement is deleted
    tamper(rt, "movements", f"DELETE FROM movements WHERE id = {first}")
    # then
    broken = audit.verify(rt, org(net)).broken
    assert broken is not None
    assert (broken.seq, broken.kind, broken.row_id, broken.reason) == (
        link_of(rt, "movement", first),
        "movement",
        first,
        "row_missing",
    )


def test_a_deleted_link_breaks_the_chain_where_it_was(net: Network) -> None:
    rt = net.rt
    audit.seal(rt, org(net))
    # when the second link itself is deleted
    tamper(rt, "chain_links", "DELETE FROM chain_links WHERE seq = 2")
    # then the chain is reported broken at link 2
    broken = audit.verify(rt, org(net)).broken
    assert broken is not None
    assert (broken.seq, broken.reason) == (2, "link_missing")


def test_verifying_is_for_organization_wide_admins_and_auditors(net: Network) -> None:
    site_admin = Actor(org(net), "site-admin", 98, (Grant(Role.ADMIN, net.central.id),))
    auditor = Actor(org(net), "auditor", 97, (Grant(Role.AUDITOR, None),))
    with pytest.raises(errors.Forbidden):
        audit.seal_and_verify(net.rt, site_admin)
    assert audit.seal_and_verify(net.rt, auditor).ok
    assert integrity.check_chains(net.rt)[0].ok


# --- rxledger check -----------------------------------------------------------------------------


def test_check_exits_1_naming_the_first_broken_link(sqlite_url: str) -> None:
    # given a ledger on a SQLite file, checked once (which seals it)
    engine = create_db_engine(sqlite_url)
    rt = Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy())
    net = build_network(rt)
    item = net.item()
    net.receive(item, 50)
    net.dispense(item, 20)
    runner = CliRunner()
    clean = runner.invoke(app, ["--database", sqlite_url, "check", "--json"])
    assert clean.exit_code == 0, clean.stderr
    assert json.loads(clean.stdout)["chains"][0]["ok"] is True
    # when a dispensed quantity is edited behind rxledger's back
    dispensed = all_ids(rt, t.movements)[-1]
    tamper(rt, "movements", f"UPDATE movements SET quantity = 21 WHERE id = {dispensed}")
    seq = link_of(rt, "movement", dispensed)
    engine.dispose()
    # then
    result = runner.invoke(app, ["--database", sqlite_url, "check"])
    assert result.exit_code == 1
    assert f"Audit chain broken (organization {org(net)}) at link {seq}" in result.stderr
    assert f"movement {dispensed}, content_changed" in result.stderr
    as_json = runner.invoke(app, ["--database", sqlite_url, "check", "--json"])
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 1
    assert report["ok"] is False
    assert report["chains"][0]["broken"]["seq"] == seq


def test_audit_list_shows_cli_postings_with_their_host_and_exports_csv(
    sqlite_url: str, tmp_path: Path
) -> None:
    # given a receipt posted through the CLI
    engine = create_db_engine(sqlite_url)
    net = build_network(Runtime(engine=engine, clock=SystemClock(), policy=LedgerPolicy()))
    net.item(ndc10="0777-3105-02")
    engine.dispose()
    runner = CliRunner()
    base = ["--database", sqlite_url, "--user", "cli-tech"]
    receive = [*base, "receive", "--site", "CENTRAL", "--location", "MAIN", "0777-3105-02", "12"]
    posted = runner.invoke(app, [*receive, "--lot", "A1", "--expiry", "2030-01-31", "--json"])
    assert posted.exit_code == 0, posted.stderr
    doc_id = json.loads(posted.stdout)["id"]
    # when listing the trail's postings as JSON, and exporting them as CSV
    listed = runner.invoke(app, [*base, "audit", "list", "--action", "post", "--json"])
    out = tmp_path / "audit.csv"
    exported = runner.invoke(
        app, [*base, "audit", "list", "--subject", f"document:{doc_id}", "--csv", str(out)]
    )
    # then the posting names its user and this host's console
    assert listed.exit_code == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert (entry["actor"], entry["origin"]) == ("cli-tech", f"cli {socket.gethostname()}")
    assert entry["subject_id"] == str(doc_id)
    assert exported.exit_code == 0, exported.stderr
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert (row["action"], row["subject_id"]) == ("post receipt", str(doc_id))
    # and outside the command the origin is the system's again
    assert audit.current_origin() == "system"
