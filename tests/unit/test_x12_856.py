"""X12 856 ship notices from drug wholesalers, read into expected receipt lines and packages."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rxledger.adapters.ingest.x12_856 import read_856
from rxledger.domain.errors import FileTooLarge, ShipmentDataRejected
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
    ShipmentData,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
WHOLESALER = (FIXTURES / "wholesaler_856.edi").read_bytes()
PARTIAL_005010 = (FIXTURES / "partial_005010.edi").read_bytes()
CLINIC_GLN = "0614141000012"


# --- builders -------------------------------------------------------------------------------------


def isa(control: str = "000000101", *, element: str = "*", component: str = ">") -> str:
    """A 106-character ISA (without its terminator) from a DUNS sender to a clinic."""
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "01", "039261849".ljust(15), "ZZ",
              "CLINICRX".ljust(15), "260528", "1432", "U", "00401", control, "0", "P",
              component]  # fmt: skip
    return element.join(fields)


def interchange(*bodies: list[str], groups: int = 1, terminator: str = "~\n") -> bytes:
    """One interchange whose groups share out the 856 ``bodies``, every count and number right."""
    segments = [isa()]
    per_group = -(-len(bodies) // groups)
    for g in range(groups):
        chunk = bodies[g * per_group : (g + 1) * per_group]
        segments.append(f"GS*SH*039261849*CLINICRX*20260528*1432*{g + 1}*X*004010")
        for n, body in enumerate(chunk, start=1):
            control = f"{g + 1}{n:03d}"
            segments += [f"ST*856*{control}", *body, f"SE*{len(body) + 2}*{control}"]
        segments.append(f"GE*{len(chunk)}*{g + 1}")
    segments.append(f"IEA*{groups}*000000101")
    return "".join(s + terminator for s in segments).encode()


def notice(*levels: str, shipment: str = "SHP-1", header: tuple[str, ...] = ()) -> list[str]:
    """An 856 body: BSN, a shipment level to the clinic, one order, then ``levels``."""
    return [
        f"BSN*00*{shipment}*20260528*1432*0001",
        *header,
        "HL*1**S",
        f"N1*ST*MERCY CLINIC*UL*{CLINIC_GLN}",
        "HL*2*1*O",
        "PRF*PO-1",
        *levels,
    ]


def item(hl: int, *segments: str, parent: int = 2) -> list[str]:
    """An item level; by default one bottle of atorvastatin 20 mg, 12 each."""
    return [f"HL*{hl}*{parent}*I", *(segments or ("LIN*1*N4*00093505601", "SN1**12*EA"))]


def one_item(*segments: str) -> bytes:
    return interchange(notice(*item(3, *segments)))


def redelimit(data: bytes, element: str, component: str, terminator: str) -> bytes:
    """The same interchange written with other delimiters."""
    segments = data.decode().split("~\n")[:-1]
    isa_segment = segments[0][:-1] + component
    rest = [s.replace("*", element) for s in segments[1:]]
    return "".join(s + terminator for s in [isa_segment.replace("*", element), *rest]).encode()


def rejection(data: bytes) -> ShipmentDataRejected:
    with pytest.raises(ShipmentDataRejected) as caught:
        read_856(data)
    assert caught.value.code == "SHIPMENT_DATA_REJECTED"
    return caught.value


# --- the wholesaler's notice ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def wholesaler() -> ShipmentData:
    return read_856(WHOLESALER)


def test_the_notice_names_the_shipment_its_time_and_its_parties(wholesaler: ShipmentData) -> None:
    # then
    assert wholesaler.format == "x12-856"
    assert wholesaler.shipment_id == "ASN-0528-00917"
    # DTM*011*20260528*1415*ED: 14:15 Eastern Daylight Time
    assert wholesaler.shipped_at == datetime(2026, 5, 28, 18, 15, tzinfo=UTC)
    assert wholesaler.shipped_on == date(2026, 5, 28)
    keystone = Party("039261849", "duns", "KEYSTONE DRUG DISTRIBUTORS DC 4")
    assert wholesaler.ship_from == keystone
    assert wholesaler.sender == keystone
    assert wholesaler.ship_to == Party(CLINIC_GLN, "gln", "MERCY GENERAL HOSPITAL PHARMACY")
    assert wholesaler.receiver == Party(CLINIC_GLN, "gln", "MERCY GENERAL HOSPITAL")
    assert wholesaler.warnings == ()


def test_each_item_is_a_line_with_its_identifiers_lot_expiry_and_order(
    wholesaler: ShipmentData,
) -> None:
    # then quantities stay in the sender's unit, and lots come from LIN LT or REF LT
    assert wholesaler.lines == (
        ExpectedLine(1, 12, "EA", gtin="00300935056012", ndc="00093505601", lot="AB1234",
                     expiry=date(2027, 11, 30), description="ATORVASTATIN CALCIUM 20MG TABLET 90CT",
                     purchase_order="4500012345", reference="1"),
        ExpectedLine(2, 24, "EA", ndc="0378-0181-10", lot="M24017B", expiry=date(2028, 1, 31),
                     description="METFORMIN HCL 500MG TABLET 100CT", purchase_order="4500012345",
                     reference="2"),
        ExpectedLine(3, 6, "EA", gtin="00359762015501", ndc="59762-015-50", lot="LS-2207/A",
                     expiry=date(2027, 8, 31), description="LISINOPRIL 10MG TABLET 500CT",
                     purchase_order="4500012345", reference="3"),
        ExpectedLine(4, 3, "EA", gtin="00300090355012", ndc="00009035501", lot="J0442",
                     expiry=date(2027, 4, 30),
                     description="MEDROXYPROGESTERONE ACETATE 150MG/ML VIAL",
                     purchase_order="4500012399", reference="4"),
        ExpectedLine(5, 6, "EA", gtin="00360505057917", ndc="06050505791", lot="ON2411",
                     expiry=date(2026, 12, 31),
                     description="ONDANSETRON 4MG ORALLY DISINTEGRATING TABLET 30CT",
                     purchase_order="4500012399", reference="5"),
    )  # fmt: skip


def test_the_pallet_its_cases_and_the_serialized_vials_are_packages(
    wholesaler: ShipmentData,
) -> None:
    # given the pallet and the cases inside it, and a case of three serialized vials
    pallet, case_1, case_2, case_3 = (
        "106141410000000019",
        "006141410000000029",
        "006141410000000036",
        "006141410000000043",
    )
    vial = "00300090355012", "J0442", date(2027, 4, 30)
    gtin, lot, expiry = vial
    # then
    assert wholesaler.packages == (
        ExpectedPackage(None, None, sscc=pallet, container=True),
        ExpectedPackage(None, None, sscc=case_1, parent=pallet, container=True),
        ExpectedPackage(None, None, sscc=case_2, parent=pallet, container=True),
        ExpectedPackage(None, None, sscc=case_3, container=True),
        *(ExpectedPackage(gtin, serial, lot, expiry, parent=case_3)
          for serial in ("10004471", "10004472", "10004473")),
    )  # fmt: skip
    assert wholesaler.serials == 3


def test_the_asn_bill_of_lading_orders_and_invoice_are_business_transactions(
    wholesaler: ShipmentData,
) -> None:
    assert wholesaler.transactions == (
        BusinessTransaction("desadv", "ASN-0528-00917"),
        BusinessTransaction("bol", "1Z999AA10123456784"),
        BusinessTransaction("po", "4500012345"),
        BusinessTransaction("inv", "INV-7781234"),
        BusinessTransaction("po", "4500012399"),
    )


def test_each_product_is_described_once(wholesaler: ShipmentData) -> None:
    assert [(p.gtin, p.ndc) for p in wholesaler.products] == [
        ("00300935056012", "00093505601"),
        (None, "0378-0181-10"),
        ("00359762015501", "59762-015-50"),
        ("00300090355012", "00009035501"),
        ("00360505057917", "06050505791"),
    ]
    assert wholesaler.products[0] == ProductInfo(
        gtin="00300935056012", ndc="00093505601", name="ATORVASTATIN CALCIUM 20MG TABLET 90CT"
    )


def test_the_summary_counts_one_document_and_its_lines(wholesaler: ShipmentData) -> None:
    assert wholesaler.summary() == {
        "format": "x12-856",
        "documents": 1,
        "events": 0,
        "products": 5,
        "serials": 3,
        "lines": 5,
        "warnings": [],
    }


# --- delimiters and versions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "component", "terminator"),
    [
        ("|", "^", "\n"),  # newline as the terminator itself
        ("*", ":", "'\r\n"),  # CRLF after each terminator
        ("^", "\\", "~"),  # everything on one line
        ("\x1d", "\x1f", "\x1c"),  # control characters, as some translators send
    ],
)
def test_delimiters_are_read_from_the_isa(element: str, component: str, terminator: str) -> None:
    # given the wholesaler's notice written with other delimiters
    data = redelimit(WHOLESALER, element, component, terminator)
    # when
    shipment = read_856(data)
    # then
    assert shipment == read_856(WHOLESALER)


def test_a_005010_notice_with_partial_and_over_shipped_lines_keeps_what_was_shipped() -> None:
    # given version 00501 (ISA11 is the repetition separator ^), CRLF after every terminator,
    # one line shipped 4 of 10 ordered and another 30 of 24 ordered
    # when
    shipment = read_856(PARTIAL_005010)
    # then
    assert shipment.shipment_id == "0003316870"
    assert [(line.reference, line.quantity, line.unit) for line in shipment.lines] == [
        ("10", 4, "EA"),
        ("20", 30, "EA"),
    ]
    assert [line.purchase_order for line in shipment.lines] == ["PO-77120", "PO-77120"]
    assert shipment.lines[1].lot == "AB1240"
    assert shipment.ship_to == Party("0039261849004", "gln", "RIVERSIDE CLINIC PHARMACY")
    assert shipment.shipped_on == date(2026, 6, 2)


def test_central_time_is_converted_with_daylight_saving() -> None:
    # given DTM*011*20260602*0800*CT: 8:00 in Chicago, on daylight time in June
    shipment = read_856(PARTIAL_005010)
    if shipment.shipped_at is None:
        pytest.skip("no time zone database on this machine")
    # then
    assert shipment.shipped_at == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)


def test_a_ship_time_without_a_time_zone_keeps_only_the_date() -> None:
    # given only BSN03/BSN04, which carry no time zone
    shipment = read_856(one_item())
    # then
    assert shipment.shipped_at is None
    assert shipment.shipped_on == date(2026, 5, 28)
    assert any("time zone" in w for w in shipment.warnings)


def test_two_transaction_sets_in_two_groups_are_two_documents() -> None:
    # given two notices, each in its own functional group
    first = notice(*item(3), shipment="SHP-1")
    second = notice(*item(3, "LIN*1*N4*00009035501", "SN1**2*EA"), shipment="SHP-2")
    # when
    shipment = read_856(interchange(first, second, groups=2))
    # then
    assert shipment.documents == 2
    assert shipment.shipment_id == "SHP-1"
    assert [(line.line_no, line.ndc, line.quantity) for line in shipment.lines] == [
        (1, "00093505601", 12),
        (2, "00009035501", 2),
    ]
    assert BusinessTransaction("desadv", "SHP-2") in shipment.transactions


# --- the item level -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "lot", "expiry"),
    [
        (("LIN*1*N4*00093505601*LT*A1", "SN1**1*EA", "DTM*036*20270131"), "A1", date(2027, 1, 31)),
        (("LIN*1*N4*00093505601", "SN1**1*EA", "REF*LT*A-2/3.4", "DTM*208*20270228"), "A-2/3.4",
         date(2027, 2, 28)),
        (("LIN*1*N4*00093505601", "SN1**1*EA", "DTM*036****D8*20270331"), None, date(2027, 3, 31)),
        (("LIN*1*N4*00093505601*LT*A1", "SN1**1*EA", "REF*LT*A1"), "A1", None),
    ],
)  # fmt: skip
def test_lot_and_expiry_come_from_lin_ref_and_dtm(
    segments: tuple[str, ...], lot: str | None, expiry: date | None
) -> None:
    # when
    (line,) = read_856(one_item(*segments)).lines
    # then
    assert (line.lot, line.expiry) == (lot, expiry)


@pytest.mark.parametrize(
    ("lin", "gtin", "ndc"),
    [
        ("LIN*1*N1*0093-5056-01", None, "0093-5056-01"),
        ("LIN*1*N1*0093505601", None, "0093-5056-01"),
        ("LIN*1*N2*5976201550", None, "59762-015-50"),
        ("LIN*1*N3*1234567890", None, "12345-6789-0"),
        ("LIN*1*N4*00093-5056-01", None, "00093505601"),
        ("LIN*1*ND*00093505601", None, "00093505601"),
        ("LIN*1*UK*00300935056012", "00300935056012", None),
        ("LIN*1*UP*300935056012", "00300935056012", None),
        ("LIN*1*EN*4006381333931", "04006381333931", None),
        ("LIN*1*VN*88120*UK*00300935056012*N4*00093505601", "00300935056012", "00093505601"),
    ],
)
def test_product_identifiers_are_read_by_qualifier(lin: str, gtin: str | None, ndc: str) -> None:
    # when
    (line,) = read_856(one_item(lin, "SN1**1*EA")).lines
    # then
    assert (line.gtin, line.ndc) == (gtin, ndc)


def test_serials_come_from_sln_ref_and_gs1_marks() -> None:
    # given three serials, each sent a different way, for one item inside a case
    data = interchange(
        notice(
            "HL*3*2*P",
            "MAN*GM*00006141410000000029",
            *item(4, "LIN*1*UK*00300935056012*LT*A1", "SN1**3*EA", "DTM*036*20270131",
                  "SLN*1**I*1*EA****SN*S-1", "REF*SE*S-2",
                  "MAN*AI*(01)00300935056012(21)S-3(10)A1(17)270131", parent=3),
        )
    )  # fmt: skip
    # when
    shipment = read_856(data)
    # then
    units = [p for p in shipment.packages if p.sscc is None]
    assert units == [
        ExpectedPackage("00300935056012", s, "A1", date(2027, 1, 31), parent="006141410000000029")
        for s in ("S-1", "S-2", "S-3")
    ]


def test_fewer_serials_than_the_quantity_is_a_warning() -> None:
    shipment = read_856(one_item("LIN*1*UK*00300935056012", "SN1**3*EA", "REF*SE*S-1"))
    assert any("1 serial" in w and "3" in w for w in shipment.warnings)


def test_an_unknown_segment_is_ignored_with_a_warning() -> None:
    # when
    shipment = read_856(one_item("LIN*1*N4*00093505601", "SN1**12*EA", "ZZZ*1*2", "ZZZ*3"))
    # then
    assert len(shipment.lines) == 1
    assert (
        "ZZZ segments are not part of an 856 this reader knows: 2 ignored, the first at segment 12"
    ) in shipment.warnings


def test_a_notice_of_containers_only_reads_with_a_warning() -> None:
    # given a pallet and nothing said about what is on it
    shipment = read_856(interchange(notice("HL*3*2*T", "MAN*GM*00106141410000000019")))
    # then
    assert shipment.lines == ()
    assert shipment.packages == (
        ExpectedPackage(None, None, sscc="106141410000000019", container=True),
    )
    assert "the ship notice lists no items (no LIN): nothing to receive" in shipment.warnings


def test_a_deep_chain_of_levels_reads_in_linear_time() -> None:
    # given 20,000 pack levels each inside the one before, and an item at the bottom
    packs = [f"HL*{n}*{n - 1}*P" for n in range(3, 20_003)]
    data = interchange(notice(*packs, *item(20_003, parent=20_002)))
    # when
    started = clock.perf_counter()
    shipment = read_856(data)
    # then
    assert shipment.lines[0].purchase_order == "PO-1"
    # (a quadratic walk takes minutes here; the bound only guards against one, on a busy machine)
    assert clock.perf_counter() - started < 10.0


# --- scale ----------------------------------------------------------------------------------------


def big_notice(lines: int) -> bytes:
    """A notice with ``lines`` items in cases of 10 on pallets of 10 cases, over 4 orders."""
    levels: list[str] = []
    hl = 1
    for n in range(lines):
        if n % 250 == 0:
            hl += 1
            order = hl
            levels += [f"HL*{order}*1*O", f"PRF*PO-{n // 250:04d}"]
        if n % 100 == 0:
            hl += 1
            pallet = hl
            levels += [f"HL*{pallet}*{order}*T", f"MAN*GM*{sscc(pallet)}"]
        if n % 10 == 0:
            hl += 1
            case = hl
            levels += [f"HL*{case}*{pallet}*P", f"MAN*GM*{sscc(case)}"]
        hl += 1
        levels += [
            f"HL*{hl}*{case}*I",
            f"LIN*{n + 1}*N4*{10093505601 + n:011d}*LT*L{n:05d}",
            f"SN1**{1 + n % 24}*EA",
            f"PID*F****PRODUCT {n}",
            "DTM*036*20271130",
        ]
    body = ["BSN*00*BIG-1*20260528*1432*0001", "HL*1**S", f"N1*ST*CLINIC*UL*{CLINIC_GLN}", *levels]
    return interchange(body)


def sscc(n: int) -> str:
    from biip.checksums import gs1_standard_check_digit

    body = f"0061414{n:010d}"
    return f"00{body}{gs1_standard_check_digit(body)}"


def test_a_thousand_line_notice_reads_completely() -> None:
    # given (its speed is measured by `make bench`, not here)
    data = big_notice(1000)
    # when
    shipment = read_856(data)
    # then
    assert len(shipment.lines) == 1000
    assert shipment.lines[-1].lot == "L00999"
    assert len(shipment.packages) == 10 + 100
    assert len({line.purchase_order for line in shipment.lines}) == 4


# --- what is refused ------------------------------------------------------------------------------


BROKEN: list[tuple[str, str, str, int]] = [
    # (what the wholesaler's notice had, what it has now, what the error says, at which segment)
    ("SE*60*0001", "SE*59*0001", "SE01 says '59' segments (ST through SE); there are 60", 62),
    ("SE*60*0001", "SE*60*0002", "SE02 control number '0002' does not match the header's", 62),
    ("GE*1*4711", "GE*1*4712", "GE02 control number '4712' does not match the header's", 63),
    ("GE*1*4711", "GE*2*4711", "GE01 says '2' transaction sets (ST); there are 1", 63),
    ("IEA*1*000004711", "IEA*1*000004712", "IEA02 control number '000004712' does not", 64),
    (
        "IEA*1*000004711",
        "IEA*2*000004711",
        "IEA01 says '2' functional groups (GS); there are 1",
        64,
    ),
    ("ST*856*0001", "ST*810*0001", "transaction set 810 is not an 856", 3),
    ("HL*7*3*P", "HL*7*30*P", "parent '30' is not an earlier HL", 35),
    ("HL*8*7*I", "HL*8*9*I", "parent '9' is not an earlier HL", 37),
    ("HL*7*3*P", "HL*5*3*P", "HL01 '5' is used twice (first at segment 24)", 35),
    ("SN1**24*EA", "SN1**2.5*EA", "SN102 quantity '2.5' is not a whole number", 31),
    ("SN1**24*EA", "SN1**0*EA", "SN102 quantity '0' must be positive", 31),
    ("SN1**24*EA", "SN1**-4*EA", "SN102 quantity '-4' is not a whole number", 31),
    ("SN1**24*EA", "SN1**24", "SN103 unit of measure is empty", 31),
    ("DTM*036*20271130", "DTM*036*20271131", "DTM02 '20271131' is not a date", 28),
    ("MAN*GM*00006141410000000029", "MAN*GM*00006141410000000028", "not a valid SSCC", 23),
    ("UK*00300935056012", "UK*00300935056013", "GTIN 00300935056013 has check digit 3", 25),
    ("N4*00093505601", "N4*00093505602", "GTIN 00300935056012 carries NDC 0093505601", 25),
    (
        "GM*00006141410000000036",
        "GM*00006141410000000029",
        "SSCC 006141410000000029 appears twice",
        36,
    ),
    ("BSN*00*ASN-0528-00917*", "DTM*999*ASN-0528-00917*", "no BSN", 3),
    ("BSN*00*ASN-0528-00917*", "BSN*00**", "BSN02 (the shipment identification) is empty", 4),
    ("HL*1**S", "HL*1**O", "must start with the shipment level", 6),
    ("LIN*2*ND*0378-0181-10", "REF*ZZ*NOLIN", "item level HL 6 has no LIN", 29),
    ("LIN*2*ND*0378-0181-10", "LIN*2*ND*0378-01811-0", "ND '0378-01811-0' is not an NDC", 30),
    ("UL*0614141000012~\nN3", "UL*0614141000013~\nN3", "GLN 0614141000013 has check digit 3", 13),
]


@pytest.mark.parametrize(("old", "new", "fragment", "segment"), BROKEN)
def test_a_broken_notice_is_refused_naming_what_and_where(
    old: str, new: str, fragment: str, segment: int
) -> None:
    # given the wholesaler's notice with one thing wrong
    assert old.encode() in WHOLESALER
    data = WHOLESALER.replace(old.encode(), new.encode(), 1)
    # when
    error = rejection(data)
    # then
    assert fragment in error.message
    assert error.details["segment"] == segment
    assert f"segment {segment} " in error.message


CUT_AT_ORDER_2 = WHOLESALER.index(b"HL*9*1*O")
NOT_WHOLE: list[tuple[bytes, str]] = [
    (b"", "the file is empty"),
    (b"  \r\n\t", "the file is empty"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "this is not X12"),
    (b'{"transfer": {"ManifestNumber": "0000000001"}}', "this is not X12"),
    (b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+260528:1432+1'", "this is not X12"),
    (b"ISA*00*", "the ISA segment has 2 element separators"),
    (WHOLESALER[:CUT_AT_ORDER_2], "without an IEA trailer: the file is truncated"),
    (WHOLESALER[: CUT_AT_ORDER_2 + 5], "ends inside a segment"),
    (WHOLESALER.replace(b"9      *ZZ", b"9     *ZZ", 1), "the ISA segment is 105 characters long"),
    (WHOLESALER.replace(b"*00401*", b"*0401*", 1), "the ISA segment is 105 characters long"),
    (WHOLESALER.replace(b"*ZZ*", b"*ZZZ*", 1), "the ISA segment is 107 characters long"),
    (WHOLESALER.replace(b"*00*        ", b"*000*       ", 1), "ISA01 is 3 characters"),
    (WHOLESALER + WHOLESALER, "more than one interchange"),
    (WHOLESALER.replace(b"\nST*", b"\nREF*ZZ*1~\nST*"), "outside a transaction set"),
    (WHOLESALER.replace(b"\nGE*1*4711", b"\nGE*1*4711~\nGE*1*4711"), "GE without a GS"),
    (WHOLESALER.replace(b"\nSE*60*0001~", b""), "closed by an SE"),
    (WHOLESALER.replace(b"\nGE*1*4711~", b""), "not closed by a GE"),
    (
        WHOLESALER.replace(b"~\nGS*SH", b"~\nXX-1*SH"),
        "segment 2 starts 'XX-1', which is not a segment identifier",
    ),
]


@pytest.mark.parametrize(("data", "fragment"), NOT_WHOLE)
def test_what_is_not_a_whole_x12_interchange_is_refused(data: bytes, fragment: str) -> None:
    assert fragment in rejection(data).message


def test_an_hl_whose_parent_comes_later_is_refused() -> None:
    # given an item that names as parent a pack level sent after it
    data = interchange(notice(*item(3, parent=4), "HL*4*2*P"))
    # when
    error = rejection(data)
    # then
    assert "parent '4' is not an earlier HL" in error.message
    assert error.details["segment"] == 9


def test_a_line_with_two_different_lots_is_refused() -> None:
    error = rejection(one_item("LIN*1*N4*00093505601*LT*A1", "SN1**1*EA", "REF*LT*B2"))
    assert "lot 'B2'" in error.message
    assert "'A1'" in error.message


def test_an_item_without_a_quantity_is_refused() -> None:
    error = rejection(one_item("LIN*1*N4*00093505601"))
    assert "has no SN1" in error.message


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    # given 50 MB
    data = WHOLESALER + b" " * (50 * 1024 * 1024)
    # when / then
    with pytest.raises(FileTooLarge) as caught:
        read_856(data)
    assert caught.value.code == "FILE_TOO_LARGE"
