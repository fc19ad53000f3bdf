"""Builders for quarantine scenarios: a DSCSA shipment's data (pallet → 3 cases → 12 bottles, from
a GLN to a GLN), and posted receiving sessions that leave packages in quarantine with their
discrepancies and investigations. Made through the services, like any real caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from biip.checksums import gs1_standard_check_digit

from rxledger.adapters import shipments_repository
from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item
from rxledger.domain.shipments import ExpectedLine, ExpectedPackage, Party, ShipmentData
from rxledger.services import investigations, receiving
from rxledger.services.catalog import PackageSpec
from tests.builders import Network

GS = "\x1d"
NDC = Ndc.parse("0093-3109-05")
GTIN = NDC.to_gtin()
SENDER_GLN = "0312345000011"
SITE_GLN = "0614141000012"


def sscc(n: int) -> str:
    body = f"0031234500{n:07d}"
    return body + str(gs1_standard_check_digit(body))


PALLET = sscc(1)
CASES = [sscc(100 + n) for n in range(3)]


def dscsa_item(net: Network) -> Item:
    """A prescription drug with an NDC, in bottles of 100 capsules."""
    return net.item(
        "Amoxicillin 500 mg capsule",
        ndc10=NDC.ndc10,
        packages=(PackageSpec("bottle", 100, gtin=GTIN, ndc10=NDC.ndc10),),
    )


def datamatrix(serial: str, lot: str = "A1", expiry: str = "280131") -> str:
    """A bottle's GS1 DataMatrix as a scanner sends it."""
    return f"]d201{GTIN}17{expiry}10{lot}{GS}21{serial}"


def store_shipment(net: Network, data: ShipmentData, sha: str = "a") -> int:
    """Shipment data stored for CENTRAL as an import would (the raw file is a stand-in)."""
    with net.rt.uow() as uow:
        file_id = shipments_repository.insert_file(
            uow.connection,
            org_id=net.actor.organization_id,
            site_id=net.central.id,
            fmt=data.format,
            filename="shipment.xml",
            sha256=sha * 64,
            content=b"<epcis/>",
            received_by="tech1",
            received_at=net.rt.clock.now(),
            retain_until=date(2032, 6, 1),
        )
        shipment_id = shipments_repository.insert_shipment(
            uow.connection,
            org_id=net.actor.organization_id,
            site_id=net.central.id,
            file_id=file_id,
            data=data,
            summary=data.summary(),
            items_by_gtin={},
            items_by_ndc={},
        )
        uow.commit()
    return shipment_id


def dscsa_shipment(net: Network, sha: str = "a") -> int:
    """A pallet, three cases of four bottles (lots A1, A1, A2), from a GLN to a GLN."""
    packages = [ExpectedPackage(None, None, sscc=PALLET)]
    for case, case_sscc in enumerate(CASES):
        packages.append(ExpectedPackage(None, None, sscc=case_sscc, parent=PALLET))
        lot = "A1" if case < 2 else "A2"
        packages += [
            ExpectedPackage(
                GTIN, f"S{case}{n}", lot=lot, expiry=date(2028, 1, 31), parent=case_sscc
            )
            for n in range(4)
        ]
    data = ShipmentData(
        format="epcis-xml",
        shipment_id="DESADV-1",
        sender=Party(SENDER_GLN, "gln"),
        receiver=Party(SITE_GLN, "gln"),
        lines=(
            ExpectedLine(1, 8, gtin=GTIN, lot="A1", expiry=date(2028, 1, 31)),
            ExpectedLine(2, 4, gtin=GTIN, lot="A2", expiry=date(2028, 1, 31)),
        ),
        packages=tuple(packages),
    )
    return store_shipment(net, data, sha)


def receive_scans(net: Network, *scans: str, packages: int = 1, shipment: int | None = None) -> int:
    """A posted receiving session of these scans at CENTRAL, against the DSCSA shipment unless
    another is named; its id."""
    shipment_id = shipment if shipment is not None else dscsa_shipment(net)
    session = receiving.open_session(net.rt, net.actor, net.central.id, shipment_id=shipment_id)
    for text in scans:
        receiving.scan(net.rt, net.actor, session.id, text, packages=packages)
    receiving.close(net.rt, net.actor, session.id)
    return session.id


def discrepancy_of(net: Network, session_id: int, reason: str) -> int:
    found = [
        int(d["id"])
        for d in receiving.get_session(net.rt, net.actor, session_id).discrepancies
        if d["reason"] == reason
    ]
    assert len(found) == 1, found
    return found[0]


@dataclass(frozen=True)
class QuarantineCase:
    """A posted receipt that left a foreign bottle (FAKE1, under investigation) and an expired
    bottle (S00 of lot E1) in CENTRAL's quarantine."""

    session_id: int
    investigation_id: int
    suspect_discrepancy_id: int
    expired_discrepancy_id: int


def quarantine_case(net: Network) -> QuarantineCase:
    session_id = receive_scans(
        net, datamatrix("FAKE1"), datamatrix("S00", lot="E1", expiry="260500")
    )
    (case,) = investigations.list_investigations(net.rt, net.actor, net.central.id)
    return QuarantineCase(
        session_id,
        case.id,
        discrepancy_of(net, session_id, "not_in_shipment"),
        discrepancy_of(net, session_id, "expired"),
    )
