"""Importing shipment data on both engines: stored raw once, normalized, nothing on refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rxledger.adapters import tables_receiving as r
from rxledger.domain import errors
from rxledger.services import catalog, imports, receiving
from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.conftest import SHARED_DATA

FIXTURES = Path(__file__).parents[1] / "fixtures"
ASN = (FIXTURES / "x12" / "wholesaler_856.edi").read_bytes()
EPCIS_XML = (FIXTURES / "epcis" / "dscsa_shipment.xml").read_bytes()
EXAMPLES = sorted((SHARED_DATA / "epcis" / "examples").glob("*.jsonld"))


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def _count(net: Network, table: Any) -> int:
    with net.rt.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_an_asn_is_stored_once_with_its_lines(net: Network) -> None:
    # given a wholesaler's 856
    # when it is imported twice for the central pharmacy
    first = imports.import_shipment(
        net.rt, net.actor, "asn", ASN, filename="asn.edi", site_id=net.central.id
    )
    again = imports.import_shipment(
        net.rt, net.actor, "asn", ASN, filename="copy.edi", site_id=net.central.id
    )
    # then the file, one shipment and its five lines exist once
    assert first.summary["lines"] == 5
    assert (again.duplicate, again.file_id, again.shipment_ids) == (
        True,
        first.file_id,
        first.shipment_ids,
    )
    assert _count(net, r.shipment_files) == 1
    assert _count(net, r.shipment_lines) == 5
    with net.rt.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(r.shipment_files.c.content)).scalar_one()
    assert stored == ASN


def test_check_only_validates_and_writes_nothing(net: Network) -> None:
    result = imports.import_shipment(net.rt, net.actor, "asn", ASN, filename="a.edi", check=True)
    assert result.check
    assert result.summary["lines"] == 5
    assert _count(net, r.shipment_files) == 0


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("asn", ASN.replace(b"SE*", b"SE*9", 1)),
        ("epcis", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
        ("epcis", b'{"@context": 1, "type": "EPCISDocument"}'),
        ("manifest", b"not json"),
        ("epcis", b"plain text"),
    ],
)
def test_a_rejected_file_writes_nothing(net: Network, fmt: str, content: bytes) -> None:
    with pytest.raises(errors.ShipmentDataRejected):
        imports.import_shipment(
            net.rt, net.actor, fmt, content, filename="bad", site_id=net.central.id
        )
    assert _count(net, r.shipment_files) == 0


def test_a_file_over_the_limit_is_refused_before_parsing(net: Network) -> None:
    with pytest.raises(errors.FileTooLarge):
        imports.import_shipment(
            net.rt,
            net.actor,
            "asn",
            b"x" * (50 * 1024 * 1024),
            filename="big",
            site_id=None,
            check=True,
        )


def test_an_unknown_format_is_refused(net: Network) -> None:
    with pytest.raises(errors.ValidationFailed, match="not an import format"):
        imports.import_shipment(net.rt, net.actor, "csv", b"a,b", filename="x", check=True)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_official_epcis_example_validates_and_imports(net: Network, path: Path) -> None:
    result = imports.import_shipment(
        net.rt, net.actor, "epcis", path.read_bytes(), filename=path.name, site_id=net.central.id
    )
    assert result.file_id is not None
    assert _count(net, r.shipments) == 1


def test_a_metrc_manifest_must_be_addressed_to_the_sites_licence(net: Network) -> None:
    responses = json.loads((SHARED_DATA / "metrc" / "api_examples.json").read_text())["responses"]

    def example(name: str) -> Any:
        return responses[name]["example_response"]

    body = json.dumps(
        {
            "transfer": example("Transfers/GetIncomingTransfers")["Data"][0],
            "deliveries": example("Transfers/GetTransfersDeliveryById"),
            "packages": example("Transfers/GetDeliveryPackageById"),
        }
    ).encode()
    # given a site without the recipient's licence
    with pytest.raises(errors.ShipmentDataRejected, match="licence"):
        imports.import_shipment(
            net.rt, net.actor, "manifest", body, filename="m.json", site_id=net.central.id
        )
    # and a dispensary that holds it
    licensed = catalog.create_site(
        net.rt,
        net.actor,
        code="DISP",
        name="Dispensary",
        kind="dispensary",
        state_license="123-ABC",
    )
    result = imports.import_shipment(
        net.rt, net.actor, "manifest", body, filename="m.json", site_id=licensed.id
    )
    assert result.summary["serials"] == 2
    assert any("own" in w for w in result.summary["warnings"])


def test_an_imported_epcis_shipment_is_received_by_scanning_its_cases(net: Network) -> None:
    # given the product in the item master and the shipment's EPCIS file imported
    item = net.item(
        "Amoxicillin 500 mg capsule",
        ndc10="12345-678-90",
        packages=(PackageSpec("bottle", 100, gtin="00312345678906", ndc10="12345-678-90"),),
    )
    imported = imports.import_shipment(
        net.rt, net.actor, "epcis", EPCIS_XML, filename="s.xml", site_id=net.central.id
    )
    assert imported.unmatched == ()
    session = receiving.open_session(
        net.rt, net.actor, net.central.id, shipment_id=imported.shipment_ids[0]
    )
    # when every container directly on the pallet is scanned
    with net.rt.uow(read_only=True) as uow:
        p = r.shipment_packages.c
        pallet = uow.connection.execute(
            select(p.package_key).where(p.parent_key.is_(None), p.serial.is_(None))
        ).scalar_one()
        cases = uow.connection.execute(select(p.package_key).where(p.parent_key == pallet)).all()
    for (case,) in cases:
        code = f"]C100{case}" if ":" not in case else _sgtin_scan(case)
        receiving.scan(net.rt, net.actor, session.id, code)
    receiving.close(net.rt, net.actor, session.id)
    # then all twelve bottles are on the dock, and nothing is short or in quarantine
    from rxledger.services import queries

    on_dock = queries.balance(
        net.rt, net.actor, item_id=item.id, location_id=net.central.receiving.id
    )
    assert on_dock == 1200
    closed = receiving.get_session(net.rt, net.actor, session.id)
    assert closed.discrepancies == ()


def _sgtin_scan(key: str) -> str:
    gtin, serial = key.split(":", 1)
    return f"]d201{gtin}21{serial}"
