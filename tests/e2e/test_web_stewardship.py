"""Item stewardship and certificates of analysis in the web UI, over HTTP on a SQLite copy per
test: a technician proposes an unknown product, a pharmacist approves it and judges the session
again; a cannabis lot's certificate is uploaded on the item page and passed by a pharmacist."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxledger.domain.model import LotStatus
from rxledger.domain.permissions import Role
from rxledger.services import catalog, certificates, receiving, stewardship
from tests.e2e.api_support import use_fast_password_hashing
from tests.e2e.conftest import BOTTLE_GTIN, OUTSIDER, WebWorld, build_world
from tests.stewardship_builders import (
    PDF,
    UNKNOWN_GTIN,
    cannabis_item,
    lot_of,
    metrc_tag,
    open_session_with_unknown,
    receive_packages,
)


@pytest.fixture
def web(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WebWorld]:
    use_fast_password_hashing(monkeypatch)
    path = tmp_path / "rxledger.db"
    shutil.copyfile(sqlite_template, path)
    world = build_world(path, (Role.TECHNICIAN, Role.PHARMACIST), outsider=True)
    yield world
    world.rt.engine.dispose()


PROPOSAL = {
    "name": "Cetirizine 10 mg tablet",
    "generic_name": "cetirizine",
    "strength": "10 mg",
    "dosage_form": "tablet",
    "base_unit": "tablet",
    "gtin": UNKNOWN_GTIN,
    "package_units": "30",
    "ndc10": "",
    "cannabis_category": "",
    "note": "new supplier",
}


def test_an_unknown_product_is_proposed_approved_and_judged_again(web: WebWorld) -> None:
    # given a session at CENTRAL with an unknown product scanned
    session_id = open_session_with_unknown(web.net)
    technician, pharmacist = web.client_for("technician"), web.client_for("pharmacist")
    page = technician.get("/stewardship")
    assert page.status_code == 200, page.text
    assert 'href="/stewardship"' in page.text  # the navigation entry
    assert 'data-unknown="' in page.text
    assert f"/stewardship?gtin={UNKNOWN_GTIN}&amp;session_id={session_id}#propose" in page.text
    assert "data-link-form" not in page.text  # a technician does not manage items
    # when the technician proposes it
    proposed = technician.post(
        "/stewardship/proposals", {**PROPOSAL, "session_id": str(session_id)}
    )
    assert proposed.status_code == 303, proposed.text
    (proposal,) = stewardship.list_proposals(web.rt, web.admin, status="pending")
    # then the technician sees it waiting, the pharmacist may decide it
    assert f'data-approve="{proposal.id}"' not in technician.get("/stewardship").text
    assert f'data-approve="{proposal.id}"' in pharmacist.get("/stewardship").text
    approved = pharmacist.post(f"/stewardship/proposals/{proposal.id}/approve", {"note": "ok"})
    assert approved.status_code == 303, approved.text
    done = stewardship.get_proposal(web.rt, web.admin, proposal.id)
    assert (done.status, done.decided_by) == ("approved", "pharmacist1")
    # and the unknown package now offers to judge its session again, which accepts it
    page = pharmacist.get("/stewardship")
    assert f'data-rejudge="{session_id}"' in page.text
    rejudged = pharmacist.post(f"/stewardship/sessions/{session_id}/rejudge", {})
    assert rejudged.status_code == 303
    assert "1%20accepted" in rejudged.headers["location"]
    line = receiving.get_session(web.rt, web.admin, session_id).lines[0]
    assert (line.item_id, line.disposition) == (done.item_id, "accept")


def test_refusals_show_the_page_again_with_their_code(web: WebWorld) -> None:
    technician = web.client_for("technician")
    known = technician.post("/stewardship/proposals", {**PROPOSAL, "gtin": BOTTLE_GTIN})
    assert known.status_code == 409
    assert 'data-error-code="GTIN_ALREADY_ASSIGNED"' in known.text
    assert f'value="{BOTTLE_GTIN}"' in known.text  # the form comes back filled
    link = {"gtin": UNKNOWN_GTIN, "item": web.item.sku, "base_units": "30", "level": ""}
    forbidden = technician.post("/stewardship/link", link)
    assert forbidden.status_code == 403
    assert 'data-error-code="FORBIDDEN"' in forbidden.text
    no_csrf = web.client_for("pharmacist").post("/stewardship/link", link, csrf=False)
    assert no_csrf.status_code == 403
    assert UNKNOWN_GTIN not in {
        p.gtin for p in catalog.get_item(web.rt, web.admin, web.item.id).packages
    }


def test_a_pharmacist_links_a_gtin_to_an_item(web: WebWorld) -> None:
    pharmacist = web.client_for("pharmacist")
    assert "data-link-form" in pharmacist.get("/stewardship").text
    link = {"gtin": UNKNOWN_GTIN, "item": web.item.sku, "base_units": "30", "level": ""}
    linked = pharmacist.post("/stewardship/link", link)
    assert linked.status_code == 303, linked.text
    packages = catalog.get_item(web.rt, web.admin, web.item.id).packages
    assert ("package", 30, UNKNOWN_GTIN) in {(p.level, p.base_units, p.gtin) for p in packages}
    again = pharmacist.post("/stewardship/link", {**link, "base_units": "60"})
    assert 'data-error-code="GTIN_ALREADY_ASSIGNED"' in again.text


def test_a_certificate_is_uploaded_on_the_item_page_and_passed(web: WebWorld) -> None:
    # given a tagged cannabis package received at CENTRAL: its lot is on hold
    item = cannabis_item(web.net)
    receive_packages(web.net, item, [metrc_tag(1)])
    lot_id = lot_of(web.net, item)
    technician, pharmacist = web.client_for("technician"), web.client_for("pharmacist")
    page = technician.get(f"/items/{item.id}")
    assert page.status_code == 200, page.text
    assert "data-certificates" in page.text
    assert f'data-attach="{lot_id}"' in page.text
    # when the technician uploads the laboratory's PDF
    uploaded = technician.http.post(
        f"/items/{item.id}/certificates",
        data={"csrf_token": technician.csrf, "lot_id": str(lot_id), "laboratory": "Evio"},
        files={"file": ("coa.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    (coa,) = certificates.list_certificates(web.rt, web.admin, lot_id)
    # then the technician cannot decide it, the pharmacist can
    assert f'data-decide="{coa.id}"' not in technician.get(f"/items/{item.id}").text
    assert f'data-decide="{coa.id}"' in pharmacist.get(f"/items/{item.id}").text
    refused = technician.post(f"/certificates/{coa.id}/result", {"result": "passed"})
    assert refused.status_code == 403
    passed = pharmacist.post(f"/certificates/{coa.id}/result", {"result": "passed"})
    assert passed.status_code == 303
    assert passed.headers["location"].startswith(f"/items/{item.id}?done=")
    assert catalog.get_lot(web.rt, web.admin, lot_id).status is LotStatus.AVAILABLE
    # and anyone who sees the item downloads the file as it was uploaded
    file = technician.get(f"/certificates/{coa.id}/file")
    assert (file.status_code, file.content) == (200, PDF)
    # another item's page has no certificates section
    assert "data-certificates" not in technician.get(f"/items/{web.item.id}").text


def test_another_sites_manager_sees_no_central_proposal(web: WebWorld) -> None:
    open_session_with_unknown(web.net)
    page = web.client_for(OUTSIDER).get("/stewardship")
    assert page.status_code == 200
    assert 'data-unknown="' not in page.text
