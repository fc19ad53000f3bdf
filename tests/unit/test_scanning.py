"""Scan parsing rules: what each kind of scan says, NDC layouts, and exact refusals."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxledger.domain.errors import AmbiguousNdc, InvalidScan, ItemNotFound
from rxledger.domain.identifiers import Ndc
from rxledger.domain.scanning import NdcReading, Scan, gs1_date, parse_scan, resolve_ndc
from rxledger.services.scanning import ScannedItem, ScannedPackage, ScanResult, require_item

TODAY = date(2026, 6, 1)
GS = "\x1d"
# A GS1 DataMatrix on a US drug package: GTIN with NDC 0001-0123-45, expiry, lot, serial.
DATAMATRIX = f"]d201003000101234551725032710A123{GS}2111"


def refused(text: str, today: date = TODAY) -> InvalidScan:
    with pytest.raises(InvalidScan) as caught:
        parse_scan(text, today)
    assert caught.value.code == "INVALID_SCAN"
    return caught.value


def test_a_pharmaceutical_datamatrix_gives_gtin_ndc_lot_expiry_and_serial() -> None:
    # when
    scan = parse_scan(DATAMATRIX, TODAY)
    # then
    assert (scan.format, scan.symbology) == ("gs1", "]d2")
    assert scan.gtin == "00300010123455"
    assert scan.ndc is not None
    assert scan.ndc.ndc10 == "0001012345"
    assert scan.ndc.ambiguous  # the digits alone do not say 4-4-2, 5-3-2 or 5-4-1
    assert (scan.lot, scan.serial, scan.expiry) == ("A123", "11", date(2025, 3, 27))
    assert scan.epc == "urn:epc:id:sgtin:030001.0012345.11"
    assert scan.digital_link == "https://id.gs1.org/01/00300010123455/10/A123/21/11?17=250327"


@pytest.mark.parametrize(
    "text",
    [
        DATAMATRIX,
        "]d2" + DATAMATRIX[3:].replace(GS, "^"),  # a scanner set to send ^ for FNC1
        "^" + DATAMATRIX[3:].replace(GS, "^"),  # GS1 syntax-engine notation, typed
        DATAMATRIX[3:],  # no symbology identifier
        "(01)00300010123455(17)250327(10)A123(21)11",
        "(01) 00300010123455 (17) 250327 (10) A123 (21) 11",  # typed with spaces
        "https://id.gs1.org/01/00300010123455/10/A123/21/11?17=250327",
        "]Q1https://example.com/product/01/00300010123455/10/A123/21/11?17=250327",
    ],
)
def test_every_way_of_sending_the_same_datamatrix_reads_the_same(text: str) -> None:
    scan = parse_scan(text, TODAY)
    assert (scan.gtin, scan.lot, scan.serial, scan.expiry) == (
        "00300010123455",
        "A123",
        "11",
        date(2025, 3, 27),
    )


@pytest.mark.parametrize("lot", ["A-12/3.4", "24-001", "LOT.7/B", "a1-b2.c3/d4"])
def test_a_lot_is_kept_whole(lot: str) -> None:
    scan = parse_scan(f"]d2010030001012345517250327{'10'}{lot}", TODAY)
    assert scan.lot == lot
    assert parse_scan(f"(01)00300010123455(10){lot}(17)250327", TODAY).lot == lot


def test_an_unterminated_lot_runs_to_the_end_of_the_data() -> None:
    scan = parse_scan("]d2010030001012345510A-1/2.3", TODAY)
    assert scan.lot == "A-1/2.3"


def test_a_lot_not_ended_by_a_separator_cannot_swallow_what_follows() -> None:
    # a lot longer than 20 characters is not cut and the rest read as another AI
    # a lot of 25 characters is not cut at 20 with the rest read as a serial (21) "XYZ"
    error = refused("]d20100300010123455" + "10" + "A" * 20 + "21XYZ")
    assert error.message == (
        f"invalid scan: the BATCH/LOT (10) value {'A' * 20!r} runs into '21XYZ': "
        "a variable-length field ends at a GS separator"
    )


def test_day_00_is_the_last_day_of_the_month() -> None:
    assert parse_scan("]d2010030001012345517280200", TODAY).expiry == date(2028, 2, 29)
    assert parse_scan("]d2010030001012345517270200", TODAY).expiry == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("today", "yymmdd", "expected"),
    [
        (date(2026, 6, 1), "991231", date(1999, 12, 31)),  # 73 years ahead: last century
        (date(2026, 6, 1), "760101", date(2076, 1, 1)),  # 50 ahead: still this century
        (date(2026, 6, 1), "770101", date(1977, 1, 1)),  # 51 ahead: last century
        (date(2099, 1, 1), "050101", date(2105, 1, 1)),  # 94 back: next century
    ],
)
def test_two_digit_years_follow_the_sliding_window_around_today(
    today: date, yymmdd: str, expected: date
) -> None:
    assert gs1_date(yymmdd, today) == expected


def test_the_sliding_window_uses_the_today_it_is_given() -> None:
    # given the same label, read in 2026 and in 2090
    label = "]d20100300010123455" + "17" + "300100"
    # then its expiry is 2030 in 2026 and 2130 by 2090's window
    assert parse_scan(label, date(2026, 6, 1)).expiry == date(2030, 1, 31)
    assert parse_scan(label, date(2090, 6, 1)).expiry == date(2130, 1, 31)


@pytest.mark.parametrize(
    ("text", "gtin"),
    [
        ("]E00300020800018", "00300020800018"),  # UPC-A sent as EAN-13 with ]E0
        ("]E0300020800018", "00300020800018"),  # UPC-A sent as 12 digits
        ("300020800018", "00300020800018"),  # a bare UPC-A
        ("0300020800018", "00300020800018"),  # a bare EAN-13
        ("]I110300020800015", "10300020800015"),  # ITF-14 on a case
    ],
)
def test_retail_barcodes_carry_the_ndc_in_a_gtin_with_prefix_03(text: str, gtin: str) -> None:
    scan = parse_scan(text, TODAY)
    assert scan.format == "gtin"
    assert scan.gtin == gtin
    assert scan.ndc is not None
    assert scan.ndc.ndc10 == "0002080001"
    assert scan.lot is None


def test_a_gtin_without_prefix_03_carries_no_ndc() -> None:
    scan = parse_scan("]E05901234123457", TODAY)
    assert scan.gtin == "05901234123457"
    assert scan.ndc is None


def test_a_bare_number_read_as_a_gtin_never_yields_a_lot() -> None:
    # 10300010123452 is a case GTIN, and also reads as AI (10) with 12 digits
    scan = parse_scan("10300010123452", TODAY)
    assert (scan.format, scan.gtin, scan.lot) == ("gtin", "10300010123452", None)


@pytest.mark.parametrize(
    ("typed", "layout", "ndc11"),
    [
        ("0002-0800-01", "4-4-2", "00002080001"),
        ("12345-678-90", "5-3-2", "12345067890"),
        ("12345-6789-0", "5-4-1", "12345678900"),
        ("50090-0875-11", "5-3-2", "50090087511"),  # 11-digit billing form, one layout fits
    ],
)
def test_a_hyphenated_ndc_knows_its_layout(typed: str, layout: str, ndc11: str) -> None:
    scan = parse_scan(typed, TODAY)
    assert scan.format == "ndc"
    assert scan.ndc is not None
    assert scan.ndc.ndc is not None
    assert (scan.ndc.ndc.layout, scan.ndc.ndc11) == (layout, ndc11)
    assert scan.gtin == scan.ndc.ndc.to_gtin()


def test_ten_bare_digits_are_an_ndc_of_open_layout_with_one_gtin() -> None:
    scan = parse_scan("1234567890", TODAY)
    assert scan.ndc is not None
    assert [c.ndc10 for c in scan.ndc.candidates] == [
        "1234-5678-90",
        "12345-678-90",
        "12345-6789-0",
    ]
    assert (scan.ndc.ndc10, scan.ndc.ndc11) == ("1234567890", None)
    assert scan.gtin == "00312345678906"


def test_eleven_bare_digits_are_a_billing_ndc_whose_padding_zero_may_fit_several_layouts() -> None:
    scan = parse_scan("00777031002", TODAY)
    assert scan.ndc is not None
    assert scan.ndc.ndc11 == "00777031002"
    assert [c.ndc10 for c in scan.ndc.candidates] == [
        "0777-0310-02",
        "00777-310-02",
        "00777-0310-2",
    ]
    assert scan.gtin is None  # each layout has other 10 digits, so another GTIN


def test_an_eleven_digit_ndc_without_a_padding_zero_is_refused() -> None:
    assert "padding zero" in refused("12345678911").message


def test_the_item_master_resolves_the_layout_by_labeler_and_product() -> None:
    reading = NdcReading(tuple(Ndc.from_digits("1234567890", x) for x in ("4-4-2", "5-3-2")))
    # another package of the same product is on file as 12345-678-11
    resolved = resolve_ndc(reading, [Ndc.parse("12345-678-11")])
    assert resolved.ndc == Ndc.parse("12345-678-90")
    # nothing on file, or two layouts on file: still ambiguous
    assert resolve_ndc(reading, []).ambiguous
    both = [Ndc.parse("12345-678-11"), Ndc.parse("1234-5678-11")]
    assert resolve_ndc(reading, both).ambiguous


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("]d20100300010123456", "check digit"),  # GTIN check digit 6, expected 5
        ("]E00300020800019", "check digit"),
        ("]d2010030001012345517271331", "date"),  # month 13
        ("]d2010030001012345517270230", "date"),  # 30 February
        ("]d20100300010123455891234", "Application Identifier"),  # (89) does not exist
        ("(01)00300010123455(89)XX", "unknown GS1 Application Identifier (89)"),
        ("https://id.gs1.org/01/00300010123455?89=X", "unknown GS1 Application Identifier (89)"),
        ("https://id.gs1.org/01/00300010123455?10=A1", "belongs in the URI path"),
        ("]d2010030001012345510A1\x1d10B2", "twice with different values"),
        ("", "empty"),
        ("]d2", "no data"),
        ("AMOX500", "is not GS1 data"),
        ("urn:epc:id:sgln:0614141.00777.0", "only those name a product"),
    ],
)
def test_an_invalid_scan_is_refused_naming_what_is_wrong(text: str, what: str) -> None:
    error = refused(text)
    assert what in error.message
    assert error.details["reason"]


def test_epc_urns_from_rfid_and_epcis() -> None:
    unit = parse_scan("urn:epc:id:sgtin:030001.0012345.A%2F1", TODAY)
    assert (unit.format, unit.gtin, unit.serial) == ("epc", "00300010123455", "A/1")
    assert unit.epc == "urn:epc:id:sgtin:030001.0012345.A%2F1"
    pallet = parse_scan("urn:epc:id:sscc:030001.41234567890", TODAY)
    assert pallet.sscc == "403000112345678901"
    assert pallet.epc == "urn:epc:id:sscc:030001.41234567890"


def test_a_bare_sscc_names_a_container() -> None:
    scan = parse_scan("]C100403000112345678901", TODAY)
    assert (scan.sscc, scan.gtin) == ("403000112345678901", None)
    assert parse_scan("403000112345678901", TODAY).format == "sscc"


def test_the_result_has_the_documented_json_keys() -> None:
    # given a scan matched to an item
    scan = parse_scan(DATAMATRIX, TODAY)
    result = ScanResult(
        scan,
        resolve_ndc(scan.ndc, [Ndc.parse("0001-0123-45")]) if scan.ndc else None,
        ScannedItem(1, "EPC100", "Epcistra", "100mg", "PILL", "pill", "0001-0123-45"),
        ScannedPackage("bottle", 500, "00300010123455", ""),
    )
    # then
    shown = result.as_dict()
    assert {"gtin", "ndc10", "ndc11", "lot", "expiry", "serial", "sscc", "item"} <= shown.keys()
    assert (shown["ndc10"], shown["ndc11"], shown["ndc"]) == (
        "0001012345",
        "00001012345",
        "0001-0123-45",
    )
    assert (shown["expiry"], shown["sscc"], shown["item"]["sku"]) == ("2025-03-27", None, "EPC100")
    assert shown["package"]["base_units"] == 500
    assert require_item(result).sku == "EPC100"


def test_an_unmatched_ambiguous_ndc_is_ambiguous_for_screens_that_need_an_item() -> None:
    scan = parse_scan("1234567890", TODAY)
    with pytest.raises(AmbiguousNdc) as caught:
        require_item(ScanResult(scan, scan.ndc))
    assert caught.value.code == "AMBIGUOUS_NDC"
    assert caught.value.details["candidates"] == ["1234-5678-90", "12345-678-90", "12345-6789-0"]
    unknown = parse_scan("]E05901234123457", TODAY)
    with pytest.raises(ItemNotFound) as missing:
        require_item(ScanResult(unknown))
    assert missing.value.code == "ITEM_NOT_FOUND"


SAMPLES = (
    DATAMATRIX,
    "(01)00300010123455(17)250300(10)A-1/2(21)X",
    "https://id.gs1.org/01/00300010123455/10/A1/21/X?17=250327&3103=000195",
    "urn:epc:id:sgtin:030001.0012345.11",
    "]e00100123456789012",
    "0001-0123-45",
)
garbled = st.tuples(st.sampled_from(SAMPLES), st.integers(0, 80), st.text(max_size=3)).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
)
truncated = st.tuples(st.sampled_from(SAMPLES), st.integers(0, 80)).map(lambda t: t[0][: t[1]])


def outcome(text: str) -> Scan | InvalidScan:
    try:
        return parse_scan(text, TODAY)
    except InvalidScan as error:
        return error


@given(garbled | truncated | st.text(max_size=60))
@settings(max_examples=1500, deadline=None)
def test_garbled_or_truncated_scans_are_read_or_refused_as_invalid_scans(text: str) -> None:
    """A broken scan never fails any other way than ``INVALID_SCAN``."""
    read = outcome(text)
    if isinstance(read, InvalidScan):
        assert read.message.startswith("invalid scan: ")
    else:
        assert read.names_product or read.elements
