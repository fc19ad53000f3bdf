"""X12 856 Ship Notice/Manifest (004010, 005010) from drug wholesalers, read into ``ShipmentData``.

After the envelope checks of :mod:`.x12`, each 856 transaction set is read as a tree of HL levels
(HL01 its id, HL02 its parent, which must come earlier; HL03 S shipment, O order, T tare or pallet,
P pack, I item). The tree must start with the shipment level. From it:

- the shipment: BSN02 is its id; its ship date is DTM*011 (else BSN03/BSN04). X12 times carry a
  zone only in DTM04; without one only the date is kept (``shipped_on``);
- parties from N1 (N101 ST ship-to, SF ship-from, BY buyer, SE/SU/VN seller; N103 1 or 9 = DUNS,
  UL = GLN); the interchange sender and receiver stand in for a missing seller or buyer;
- the purchase order from PRF01 of the nearest order level, the invoice from REF*IV, the bill of
  lading from REF*BM; together with BSN02 they are the business transactions;
- containers from MAN*GM (or AA): an SSCC-18, its check digit checked, whose parent is the SSCC of
  the nearest level above that has one;
- a line per level with a LIN: LIN pairs give the NDC (N1/N2/N3 as 4-4-2/5-3-2/5-4-1, N4 as the
  11-digit 5-4-2 billing form, ND as written), the GTIN (UK, EN, UP, UG, UH; check digit checked)
  and the lot (LT); SN102 the quantity, a positive whole number in the sender's unit SN103; PID05
  the description; REF*LT the lot; DTM*036 or DTM*208 the expiry. A GTIN with the GS1 US prefix 03
  must carry the same NDC as the line;
- serial numbers of an item from LIN or SLN pairs qualified SN, REF*SE, or MAN*AI (a GS1 element
  string with (01) and (21)): each a package inside the nearest container.

Several transaction sets in one interchange are several documents of one file; their lines are
numbered on. Segments this reader does not know are ignored with one warning per segment id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from biip import ParseError
from biip.gs1_messages import GS1Message

from rxledger.adapters.ingest.limits import require_size
from rxledger.adapters.ingest.x12 import (
    Interchange,
    Segment,
    TransactionSet,
    read_interchange,
    rejected,
    time_zone,
    utc,
    x12_date,
    x12_time,
)
from rxledger.adapters.ingest.x12_values import (
    NDC_LAYOUTS,
    check_gtin_carries_ndc,
    read_gln,
    read_gtin,
    read_ndc,
    read_sscc,
    whole_quantity,
)
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
    ShipmentData,
)

_GTIN_QUALIFIERS = frozenset({"UK", "EN", "UP", "UG", "UH"})
_PARTY_SCHEMES: dict[str, Literal["duns", "gln", "other"]] = {"1": "duns", "9": "duns", "UL": "gln"}
_SELLER_ROLES = ("SE", "SU", "VN", "SF")
_BUYER_ROLES = ("BY", "ST")
_EXPIRY_DATES = frozenset({"036", "208"})  # expiration; lot number expiration
_SSCC_MARKS = frozenset({"GM", "AA"})
_REFERENCES = {"BM": "bol", "IV": "inv", "PO": "po"}
# Segments an 856 may carry that say nothing receiving needs.
_KNOWN = frozenset(
    {"BSN", "HL", "N1", "PRF", "REF", "DTM", "MAN", "LIN", "SN1", "PID", "SLN", "TD1", "TD3", "TD4",
     "TD5", "N2", "N3", "N4", "PER", "FOB", "CUR", "PKG", "PO4", "PAL", "TSD", "SAC", "YNQ", "QTY",
     "MEA", "CLD", "CTT", "LQ", "ITA", "PWK", "TXI", "NTE", "MSG", "N9", "V1", "INS", "LDT", "G05",
     "AMT", "ITD"}
)  # fmt: skip
_LEVELS = frozenset("SOTPI")


def read_856(data: bytes) -> ShipmentData:
    """Read an 856 interchange; refuse it whole if its envelope or any ship notice is broken."""
    require_size(data)
    interchange = read_interchange(data)
    if not interchange.transaction_sets:
        raise rejected("the interchange holds no transaction set")
    reader = _NoticeReader(interchange)
    for transaction_set in interchange.transaction_sets:
        reader.read(transaction_set)
    return reader.shipment()


# --- the HL tree ----------------------------------------------------------------------------------


@dataclass
class _Level:
    """One HL loop: its header, the segments up to the next HL, and what applies below it.

    Parents come before children and are read first, so a level starts from its parent's
    container and order and needs no walk up the tree.
    """

    header: Segment
    parent: _Level | None
    segments: list[Segment] = field(default_factory=list)
    container: str | None = None  # the SSCC of this level or of the nearest level above it
    purchase_order: str | None = None  # PRF01 of this level or of the nearest level above it

    @property
    def id(self) -> str:
        return self.header.value(1)

    @property
    def code(self) -> str:
        return self.header.value(3)

    def inherit(self) -> None:
        """Start from what the parent level says about the levels below it."""
        if self.parent is not None:
            self.container = self.parent.container
            self.purchase_order = self.parent.purchase_order


def split_levels(segments: tuple[Segment, ...]) -> tuple[list[Segment], list[_Level]]:
    """The segments before the first HL, and the HL levels; every parent must come earlier."""
    header: list[Segment] = []
    levels: dict[str, _Level] = {}
    current: _Level | None = None
    for segment in segments:
        if segment.tag == "HL":
            current = _open_level(segment, levels)
            levels[current.id] = current
        elif current is None:
            header.append(segment)
        else:
            current.segments.append(segment)
    return header, list(levels.values())


def _open_level(segment: Segment, levels: dict[str, _Level]) -> _Level:
    """A new HL level, refused if its id repeats or its parent is not an earlier level."""
    hl_id, parent_id, code = segment.value(1), segment.value(2), segment.value(3)
    if not hl_id:
        raise rejected("HL01 (the level's id) is empty", segment)
    if hl_id in levels:
        first = levels[hl_id].header.number
        raise rejected(f"HL01 {hl_id!r} is used twice (first at segment {first})", segment)
    if not levels:
        if code != "S" or parent_id:
            raise rejected(
                f"the hierarchy must start with the shipment level (HL03 S without parent), "
                f"not {code!r}",
                segment,
            )
        return _Level(segment, None)
    if not parent_id:
        raise rejected(f"HL {hl_id!r} has no parent; only the shipment level stands alone", segment)
    if parent_id not in levels:
        raise rejected(f"HL {hl_id!r}: parent {parent_id!r} is not an earlier HL", segment)
    return _Level(segment, levels[parent_id])


# --- an item --------------------------------------------------------------------------------------


@dataclass
class _Item:
    """What the segments of one level say about a line, gathered before the line is built."""

    level: _Level
    lin: Segment | None = None
    quantity: Segment | None = None
    description: str | None = None
    gtin: str | None = None
    ndc: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serials: list[tuple[str, Segment]] = field(default_factory=list)

    def set_lot(self, lot: str, segment: Segment) -> None:
        """A line has one lot; a second, different one is a contradiction in the data."""
        if self.lot is not None and lot != self.lot:
            raise rejected(
                f"lot {lot!r} differs from lot {self.lot!r} given earlier for the same item",
                segment,
            )
        self.lot = lot

    def set_expiry(self, expiry: date, segment: Segment) -> None:
        if self.expiry is not None and expiry != self.expiry:
            raise rejected(
                f"expiry {expiry} differs from expiry {self.expiry} given earlier for the item",
                segment,
            )
        self.expiry = expiry


# --- the reader -----------------------------------------------------------------------------------


class _NoticeReader:
    """Reads the 856 transaction sets of one interchange into one ``ShipmentData``."""

    def __init__(self, interchange: Interchange) -> None:
        self.interchange = interchange
        self.shipment_id: str | None = None
        self.shipped_at: datetime | None = None
        self.shipped_on: date | None = None
        self.parties: dict[str, Party] = {}
        self.transactions: dict[BusinessTransaction, None] = {}
        self.lines: list[ExpectedLine] = []
        self.packages: list[ExpectedPackage] = []
        self.products: dict[tuple[str | None, str | None], ProductInfo] = {}
        self.seen: dict[str, int] = {}  # package key → segment number
        self.unknown: dict[str, list[int]] = {}
        self.warnings: list[str] = list(interchange.warnings)
        self.handlers: dict[str, Callable[[Segment, _Item], None]] = {
            "N1": self._read_party,
            "PRF": self._read_order,
            "REF": self._read_reference,
            "DTM": self._read_date,
            "MAN": self._read_marks,
            "LIN": self._read_lin,
            "SN1": self._read_quantity,
            "PID": self._read_description,
            "SLN": self._read_subline,
        }

    def read(self, transaction_set: TransactionSet) -> None:
        """Read one 856: its header (BSN, DTM) and then its HL levels in order."""
        if transaction_set.code != "856":
            raise rejected(
                f"transaction set {transaction_set.code} is not an 856 ship notice",
                transaction_set.header,
            )
        header, levels = split_levels(transaction_set.segments)
        bsn = next((s for s in header if s.tag == "BSN"), None)
        if bsn is None:
            raise rejected(
                "the transaction set has no BSN beginning segment", transaction_set.header
            )
        if not levels:
            raise rejected("the ship notice has no HL levels", transaction_set.header)
        self._read_bsn(bsn, [s for s in header if s.tag == "DTM"] + levels[0].segments)
        for segment in header:
            self._note_unknown(segment)
        for level in levels:
            self._read_level(level)

    def shipment(self) -> ShipmentData:
        """Everything read so far, as one file's ``ShipmentData``."""
        if not self.lines:
            self.warnings.append("the ship notice lists no items (no LIN): nothing to receive")
        for tag, numbers in self.unknown.items():
            self.warnings.append(
                f"{tag} segments are not part of an 856 this reader knows: {len(numbers)} "
                f"ignored, the first at segment {numbers[0]}"
            )
        return ShipmentData(
            format="x12-856",
            shipment_id=self.shipment_id,
            shipped_at=self.shipped_at,
            shipped_on=self.shipped_on,
            sender=self._party(_SELLER_ROLES) or self._envelope_party("sender"),
            receiver=self._party(_BUYER_ROLES) or self._envelope_party("receiver"),
            ship_from=self.parties.get("SF"),
            ship_to=self.parties.get("ST"),
            transactions=tuple(self.transactions),
            products=tuple(self.products.values()),
            lines=tuple(self.lines),
            packages=tuple(self.packages),
            documents=len(self.interchange.transaction_sets),
            warnings=tuple(self.warnings),
        )

    # --- the shipment --------------------------------------------------------------------------

    def _read_bsn(self, bsn: Segment, dates: list[Segment]) -> None:
        """BSN02 names the shipment; the ship time is DTM*011 if given, else BSN03/BSN04."""
        if not bsn.value(2):
            raise rejected("BSN02 (the shipment identification) is empty", bsn)
        self.transactions[BusinessTransaction("desadv", bsn.value(2))] = None
        if self.shipment_id is not None:
            return
        self.shipment_id = bsn.value(2)
        shipped = next((s for s in dates if s.tag == "DTM" and s.value(1) == "011"), None)
        if shipped is not None:
            self._set_ship_time(shipped, 2, 3, shipped.value(4))
        elif bsn.value(3):
            self._set_ship_time(bsn, 3, 4, "")

    def _set_ship_time(self, segment: Segment, day_at: int, time_at: int, zone_code: str) -> None:
        self.shipped_on = x12_date(segment, day_at)
        if not segment.value(time_at):
            return
        at = x12_time(segment, time_at)
        zone = time_zone(zone_code)
        if zone is None:
            self.warnings.append(
                f"the ship time {segment.value(time_at)} (segment {segment.number}) has no time "
                f"zone this reader can resolve ({zone_code or 'none'}); only the date is kept"
            )
            return
        self.shipped_at = utc(self.shipped_on, at, zone)

    def _party(self, roles: tuple[str, ...]) -> Party | None:
        return next((self.parties[r] for r in roles if r in self.parties), None)

    def _envelope_party(self, which: Literal["sender", "receiver"]) -> Party | None:
        ix = self.interchange
        qualifier, party_id = (
            (ix.sender_qualifier, ix.sender_id)
            if which == "sender"
            else (ix.receiver_qualifier, ix.receiver_id)
        )
        if not party_id:
            return None
        return Party(party_id, "duns" if qualifier in ("01", "14") else "other")

    def _read_party(self, segment: Segment, _item: _Item) -> None:
        """N1: a role, a name and an id; the first party named for a role is the one kept."""
        role, name, qualifier, party_id = (segment.value(i) for i in (1, 2, 3, 4))
        if not party_id:
            self.warnings.append(f"N1 {role} at segment {segment.number} gives no id; not kept")
            return
        scheme = _PARTY_SCHEMES.get(qualifier, "other")
        if scheme == "gln":
            read_gln(party_id, segment)
        party = Party(party_id, scheme, name or None)
        kept = self.parties.setdefault(role, party)
        if kept.id != party.id:
            self.warnings.append(
                f"N1 {role} at segment {segment.number} names {party.id}, not {kept.id} named "
                "first; the first is kept"
            )

    # --- levels ----------------------------------------------------------------------------------

    def _read_level(self, level: _Level) -> None:
        """Read one HL level's segments into its containers, its order and at most one line."""
        if level.code not in _LEVELS:
            self.warnings.append(
                f"HL03 {level.code!r} at segment {level.header.number} is not a level this reader "
                "knows (S, O, T, P, I); its segments are read as any level's"
            )
        level.inherit()
        item = _Item(level)
        for segment in level.segments:
            handler = self.handlers.get(segment.tag)
            if handler is None:
                self._note_unknown(segment)
            else:
                handler(segment, item)
        if item.lin is None and (item.quantity is not None or level.code == "I"):
            raise rejected(f"item level HL {level.id} has no LIN", level.header)
        if item.lin is not None:
            self._add_line(item, item.lin)

    def _note_unknown(self, segment: Segment) -> None:
        if segment.tag not in _KNOWN:
            self.unknown.setdefault(segment.tag, []).append(segment.number)

    def _read_order(self, segment: Segment, item: _Item) -> None:
        """PRF01 is the purchase order of this level and the levels below it."""
        if segment.value(1):
            item.level.purchase_order = segment.value(1)
            self.transactions[BusinessTransaction("po", segment.value(1))] = None

    def _read_reference(self, segment: Segment, item: _Item) -> None:
        qualifier, value = segment.value(1), segment.value(2)
        if not value:
            return
        if qualifier == "LT":
            item.set_lot(value, segment)
        elif qualifier == "SE":
            item.serials.append((value, segment))
        elif qualifier in _REFERENCES:
            self.transactions[BusinessTransaction(_REFERENCES[qualifier], value)] = None

    def _read_date(self, segment: Segment, item: _Item) -> None:
        """DTM*036 and DTM*208 give the expiry, as CCYYMMDD in DTM02 or after D8 in DTM06."""
        if segment.value(1) not in _EXPIRY_DATES:
            return
        if not segment.value(2) and segment.value(5) == "D8":
            item.set_expiry(x12_date(segment, 6), segment)
        else:
            item.set_expiry(x12_date(segment, 2), segment)

    def _read_marks(self, segment: Segment, item: _Item) -> None:
        """MAN*GM is the level's SSCC; MAN*AI is a GS1 element string naming a serialized unit."""
        for qualifier_at in (1, 4):
            qualifier, value = segment.value(qualifier_at), segment.value(qualifier_at + 1)
            if qualifier in _SSCC_MARKS and value:
                self._add_container(read_sscc(value, segment), segment, item.level)
            elif qualifier == "AI" and value:
                self._read_element_string(value, segment, item)

    def _read_element_string(self, value: str, segment: Segment, item: _Item) -> None:
        try:
            message = (
                GS1Message.parse_hri(value) if value.startswith("(") else GS1Message.parse(value)
            )
        except ParseError as exc:
            raise rejected(f"{value!r} is not a GS1 element string: {exc}", segment) from exc
        found: dict[str, Any] = {e.ai.ai: e for e in message.element_strings}
        if "00" in found:
            self._add_container(read_sscc(found["00"].value, segment), segment, item.level)
            return
        if "01" in found:
            self._set_gtin(str(found["01"].gtin.value), segment, item)
        if "10" in found:
            item.set_lot(str(found["10"].value), segment)
        if "17" in found and found["17"].date is not None:
            item.set_expiry(found["17"].date, segment)
        if "21" in found:
            item.serials.append((str(found["21"].value), segment))

    def _read_lin(self, segment: Segment, item: _Item) -> None:
        """LIN: pairs of qualifier and value from LIN02/LIN03 on; the first of each kind counts."""
        if item.lin is not None:
            raise rejected(f"a second LIN in HL {item.level.id}", segment)
        item.lin = segment
        pairs = zip(segment.elements[1::2], segment.elements[2::2], strict=False)
        for qualifier, raw in pairs:
            value = raw.strip()
            if not value:
                continue
            if qualifier in NDC_LAYOUTS or qualifier in ("N4", "ND"):
                item.ndc = item.ndc or read_ndc(qualifier, value, segment)
            elif qualifier in _GTIN_QUALIFIERS and item.gtin is None:
                self._set_gtin(read_gtin(value, segment), segment, item)
            elif qualifier == "LT":
                item.set_lot(value, segment)
            elif qualifier == "SN":
                item.serials.append((value, segment))
        if item.gtin and item.ndc:
            check_gtin_carries_ndc(item.gtin, item.ndc, segment)

    def _set_gtin(self, gtin: str, segment: Segment, item: _Item) -> None:
        if item.gtin is not None and gtin != item.gtin:
            raise rejected(f"GTIN {gtin} differs from the item's GTIN {item.gtin}", segment)
        item.gtin = gtin

    def _read_quantity(self, segment: Segment, item: _Item) -> None:
        """SN1: SN102 the quantity shipped, SN103 its unit (SN105 ordered is not needed here)."""
        if item.quantity is not None:
            raise rejected(f"a second SN1 in HL {item.level.id}", segment)
        whole_quantity(segment, 2)
        if not segment.value(3):
            raise rejected("SN103 unit of measure is empty", segment, element="SN103")
        item.quantity = segment

    def _read_description(self, segment: Segment, item: _Item) -> None:
        if item.description is None and segment.value(5):
            item.description = segment.value(5)

    def _read_subline(self, segment: Segment, item: _Item) -> None:
        """SLN09/SLN10 on: qualifier and id pairs; SN is a serial number of the item."""
        pairs = zip(segment.elements[8::2], segment.elements[9::2], strict=False)
        for qualifier, value in pairs:
            if qualifier.strip() == "SN" and value.strip():
                item.serials.append((value.strip(), segment))

    # --- what a level yields -----------------------------------------------------------------

    def _add_container(self, sscc: str, segment: Segment, level: _Level) -> None:
        """A pallet or case, inside the nearest container above its level."""
        self._claim(sscc, f"SSCC {sscc}", segment)
        above = level.parent.container if level.parent else None
        self.packages.append(ExpectedPackage(None, None, sscc=sscc, parent=above, container=True))
        if level.container == above:  # the level's first SSCC is what its children are inside
            level.container = sscc

    def _claim(self, key: str, what: str, segment: Segment) -> None:
        """Each package appears once in a file."""
        if key in self.seen:
            raise rejected(
                f"{what} appears twice (first at segment {self.seen[key]})", segment, package=key
            )
        self.seen[key] = segment.number

    def _add_line(self, item: _Item, lin: Segment) -> None:
        """One expected line per LIN, with its SN1 quantity and the order above it."""
        if item.quantity is None:
            raise rejected(f"the item in HL {item.level.id} has no SN1 quantity", item.level.header)
        line = ExpectedLine(
            line_no=len(self.lines) + 1,
            quantity=whole_quantity(item.quantity, 2),
            unit=item.quantity.value(3),
            gtin=item.gtin,
            ndc=item.ndc,
            lot=item.lot,
            expiry=item.expiry,
            description=item.description,
            purchase_order=item.level.purchase_order,
            reference=lin.value(1) or item.level.id,
        )
        self.lines.append(line)
        self.products.setdefault(
            (line.gtin, line.ndc), ProductInfo(gtin=line.gtin, ndc=line.ndc, name=line.description)
        )
        self._add_serials(item, line)

    def _add_serials(self, item: _Item, line: ExpectedLine) -> None:
        parent = item.level.container
        for serial, segment in item.serials:
            self._claim(f"{line.gtin}:{serial}", f"serial {serial} of {line.gtin}", segment)
            self.packages.append(
                ExpectedPackage(line.gtin, serial, line.lot, line.expiry, parent=parent)
            )
        count = len(item.serials)
        if count and count != line.quantity:
            self.warnings.append(
                f"line {line.line_no} (HL {item.level.id}) lists {count} "
                f"serial{'s' if count > 1 else ''} for a quantity of {line.quantity} {line.unit}"
            )
