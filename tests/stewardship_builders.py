"""Builders for item-master stewardship and certificates of analysis: GTINs the item master does
not know, scanned into an open receiving session; a cannabis item whose packages carry METRC UID
tags as serials; and the people who make and check (a technician, a pharmacist). Made through the
services, like any real caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from biip.checksums import gs1_standard_check_digit

from rxledger.domain.certificates import LabResult
from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, certificates, receiving, stock
from rxledger.services.catalog import PackageSpec
from rxledger.services.certificates import CertificateView
from rxledger.services.posting import PostedDocument
from tests.builders import Network

GS = "\x1d"
PDF = b"%PDF-1.4\n% certificate of analysis: THC 21.4 %, pesticides not detected\n%%EOF\n"
LAB = "Evio Labs Portland"


def gtin(body: str) -> str:
    """``body`` (13 digits) with its GS1 check digit."""
    return body + str(gs1_standard_check_digit(body))


# Outside GS1 US (prefix 03): never read as an NDC.
UNKNOWN_GTIN = gtin("0950600013435")
OTHER_GTIN = gtin("0950600013436")
CANNABIS_GTIN = gtin("0085000012345")


def datamatrix(
    code: str, lot: str = "B7", expiry: str = "280131", serial: str | None = None
) -> str:
    """A package's GS1 DataMatrix as a scanner sends it (GTIN, expiry, lot, serial)."""
    tail = f"{GS}21{serial}" if serial else ""
    return f"]d201{code}17{expiry}10{lot}{tail}"


@dataclass(frozen=True)
class People:
    technician: Actor
    pharmacist: Actor
    other_pharmacist: Actor
    buyer: Actor


def people(net: Network) -> People:
    """CENTRAL's technician, two pharmacists and a buyer (actors, no accounts needed)."""
    org, central = net.actor.organization_id, net.central.id

    def actor(name: str, role: Role) -> Actor:
        return Actor(org, name, grants=(Grant(role, central),))

    return People(
        actor("tech-ann", Role.TECHNICIAN),
        actor("pharm-bo", Role.PHARMACIST),
        actor("pharm-cy", Role.PHARMACIST),
        actor("buyer-di", Role.BUYER),
    )


def open_session_with_unknown(net: Network, scan: str | None = None, packages: int = 1) -> int:
    """A blind receiving session at CENTRAL with one package the item master does not know."""
    session = receiving.open_session(net.rt, net.actor, net.central.id)
    outcome = receiving.scan(
        net.rt, net.actor, session.id, scan or datamatrix(UNKNOWN_GTIN), packages=packages
    )
    assert outcome.lines[0].reason == "unknown_gtin"
    return session.id


# --- cannabis -----------------------------------------------------------------------------------


def cannabis_item(net: Network) -> Item:
    """Pre-rolls sold per package, each package tagged (METRC UID tag as the serial)."""
    return net.item(
        "Blue Dream pre-roll 1 g",
        base_unit="pre-roll",
        cannabis_category="pre-roll",
        serial_tracked=True,
        packages=(PackageSpec("package", 1, gtin=CANNABIS_GTIN),),
    )


def metrc_tag(n: int) -> str:
    """A package tag, cut to the 20 characters a GS1 serial (AI 21) can carry."""
    return f"1A4060300{n:011d}"


def receive_packages(
    net: Network, item: Item, tags: list[str], lot: str = "BD-0601", *, location_id: int = 0
) -> PostedDocument:
    """Tagged packages of one lot (a harvest batch) received at CENTRAL's storage."""
    lines = [
        stock.ReceiptLine(item.id, 1, lot, date(2027, 6, 30), serial=tag, gtin=CANNABIS_GTIN)
        for tag in tags
    ]
    return stock.receive(
        net.rt,
        net.actor,
        stock.Receive(net.central.id, location_id or net.central.storage.id, lines),
    )


def lot_of(net: Network, item: Item, lot: str = "BD-0601") -> int:
    return catalog.find_lot(net.rt, net.actor, item.id, lot).id


def attach(net: Network, by: Actor, lot_id: int, content: bytes = PDF) -> CertificateView:
    return certificates.attach_certificate(
        net.rt, by, lot_id, "coa-BD-0601.pdf", content, laboratory=LAB
    )


def decide(net: Network, by: Actor, certificate_id: int, result: str) -> CertificateView:
    return certificates.decide_certificate(net.rt, by, certificate_id, LabResult(result))
