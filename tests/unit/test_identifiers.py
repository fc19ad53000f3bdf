"""NDCs in their labelled and billing forms, and the GTINs that carry them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rxledger.domain.errors import InvalidIdentifier
from rxledger.domain.identifiers import (
    LAYOUTS,
    Ndc,
    NdcLayout,
    ndc10_candidates,
    ndc11_candidates,
    ndc_from_gtin,
    normalize_gtin,
)

ascii_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)
ndcs = st.builds(Ndc.from_digits, ascii_digits, st.sampled_from(LAYOUTS))


# --- parsing the labelled NDC ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "layout", "digits", "ndc11"),
    [
        ("0777-3105-02", "4-4-2", "0777310502", "00777310502"),
        ("12345-678-90", "5-3-2", "1234567890", "12345067890"),
        ("12345-6789-0", "5-4-1", "1234567890", "12345678900"),
        (" 0002-1200-30\n", "4-4-2", "0002120030", "00002120030"),
    ],
)
def test_the_three_labelled_layouts_parse(
    text: str, layout: NdcLayout, digits: str, ndc11: str
) -> None:
    # when
    ndc = Ndc.parse(text)
    # then
    assert ndc.layout == layout
    assert ndc.digits == digits
    assert ndc.ndc10 == text.strip()
    assert ndc.ndc11 == ndc11
    assert ndc.ndc11_hyphenated == f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}"


def test_an_unambiguous_hyphenated_billing_ndc_parses_to_its_labelled_form() -> None:
    # given the 5-4-2 billing form of the 5-3-2 NDC 12345-678-90
    # when
    ndc = Ndc.parse("12345-0678-90")
    # then
    assert ndc == Ndc("12345", "678", "90")
    assert ndc.layout == "5-3-2"


def test_an_ambiguous_hyphenated_billing_ndc_is_refused_with_its_candidates() -> None:
    # given 00777-3105-02, the billing form of both 0777-3105-02 and 00777-3105-2
    # when
    with pytest.raises(InvalidIdentifier) as refused:
        Ndc.parse("00777-3105-02")
    # then
    assert refused.value.details == {
        "identifier": "00777310502",
        "ambiguous": True,
        "candidates": ["0777-3105-02", "00777-3105-2"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "0777310502",  # unhyphenated: ambiguous by nature, see ndc10_candidates
        "0777-3105-2",  # 4-4-1
        "1234-567-89",  # 4-3-2
        "123-4567-89",
        "0777-3105-02-1",
        "0777 3105 02",
        "07a7-3105-02",
        "",
        "-",
        "00777-3105-002",
    ],
)
def test_malformed_ndcs_are_refused(text: str) -> None:
    # when
    with pytest.raises(InvalidIdentifier) as refused:
        Ndc.parse(text)
    # then
    assert refused.value.code == "INVALID_IDENTIFIER"
    assert refused.value.details == {"identifier": text}
    assert "4-4-2, 5-3-2 or 5-4-1" in refused.value.message


@pytest.mark.parametrize(
    ("ndc", "padded"),
    [
        (Ndc("0777", "3105", "02"), "00777310502"),  # 4-4-2: pad the labeler
        (Ndc("50242", "040", "62"), "50242004062"),  # 5-3-2: pad the product
        (Ndc("60505", "2580", "1"), "60505258001"),  # 5-4-1: pad the package
    ],
)
def test_ndc11_pads_the_short_segment(ndc: Ndc, padded: str) -> None:
    assert ndc.ndc11 == padded


def test_an_ndc_with_no_known_layout_says_so() -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        _ = Ndc("1", "2", "3").layout
    assert refused.value.details == {"identifier": "1-2-3"}


@pytest.mark.parametrize("digits", ["077731050", "07773105021", "07773105o2", ""])
def test_from_digits_needs_ten_digits(digits: str) -> None:
    with pytest.raises(InvalidIdentifier):
        Ndc.from_digits(digits, "4-4-2")


# --- from the billing form back to the labelled form ----------------------------------------------


def test_ndc11_candidates_lists_every_layout_that_fits() -> None:
    # given 11 digits with a zero at all three padding positions
    # when
    candidates = ndc11_candidates("00777031002")
    # then
    assert [c.ndc10 for c in candidates] == ["0777-0310-02", "00777-310-02", "00777-0310-2"]
    assert {c.ndc11 for c in candidates} == {"00777031002"}


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("12345067890", ["12345-678-90"]),
        ("12345678900", ["12345-6789-0"]),
        ("02345678910", ["2345-6789-10"]),
        ("12345678911", []),
        ("00777-3105-02", ["0777-3105-02", "00777-3105-2"]),
    ],
)
def test_ndc11_candidates(digits: str, expected: list[str]) -> None:
    assert [c.ndc10 for c in ndc11_candidates(digits)] == expected


def test_from_ndc11_returns_the_only_candidate() -> None:
    assert Ndc.from_ndc11("12345067890") == Ndc("12345", "678", "90")


def test_from_ndc11_refuses_an_ambiguous_billing_form() -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        Ndc.from_ndc11("00777031002")
    assert refused.value.details["ambiguous"] is True
    assert refused.value.details["candidates"] == ["0777-0310-02", "00777-310-02", "00777-0310-2"]
    assert "fits 3 layouts" in refused.value.message


def test_from_ndc11_refuses_digits_that_fit_no_layout() -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        Ndc.from_ndc11("12345678911")
    assert refused.value.details["ambiguous"] is False
    assert refused.value.details["candidates"] == []


@pytest.mark.parametrize("digits", ["0077731050", "007773105021", "0077731050x", ""])
def test_ndc11_candidates_needs_eleven_digits(digits: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        ndc11_candidates(digits)
    assert refused.value.details == {"identifier": digits}


def test_ndc10_candidates_reads_unhyphenated_digits_in_every_layout() -> None:
    assert [c.ndc10 for c in ndc10_candidates("0777310502")] == [
        "0777-3105-02",
        "07773-105-02",
        "07773-1050-2",
    ]


@pytest.mark.parametrize("digits", ["077731050", "0777-3105-02", "07773105021"])
def test_ndc10_candidates_needs_ten_digits(digits: str) -> None:
    with pytest.raises(InvalidIdentifier):
        ndc10_candidates(digits)


# --- GTINs ---------------------------------------------------------------------------------------


def test_the_gtin_of_an_ndc_carries_prefix_03_and_a_check_digit() -> None:
    assert Ndc.parse("0777-3105-02").to_gtin() == "00307773105025"
    assert Ndc.parse("12345-678-90").to_gtin() == "00312345678906"


@pytest.mark.parametrize(
    ("text", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("307773105025", "00307773105025"),  # GTIN-12 of an NDC
        ("4006381333931", "04006381333931"),  # GTIN-13 (EAN-13)
        ("00307773105025", "00307773105025"),  # GTIN-14
        ("10307773105022", "10307773105022"),  # GTIN-14 of a case
        (" 00307773105025 ", "00307773105025"),
    ],
)
def test_normalize_gtin_pads_valid_gtins_to_fourteen_digits(text: str, gtin14: str) -> None:
    assert normalize_gtin(text) == gtin14


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("00307773105026", "GTIN 00307773105026 has check digit 6, expected 5"),
        ("307773105020", "GTIN 307773105020 has check digit 0, expected 5"),
        ("96385075", "GTIN 96385075 has check digit 5, expected 4"),
        ("4006381333932", "GTIN 4006381333932 has check digit 2, expected 1"),
    ],
)
def test_normalize_gtin_refuses_a_wrong_check_digit_naming_the_right_one(
    text: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalize_gtin(text)
    assert refused.value.message == message
    assert refused.value.details == {"identifier": text}


@pytest.mark.parametrize(
    "text",
    ["", "1234567", "123456789", "12345678901", "003077731050255", "0030777310502X", "0-307773"],
)
def test_normalize_gtin_refuses_other_lengths_and_characters(text: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalize_gtin(text)
    assert refused.value.message == f"{text!r} is not a GTIN of 8, 12, 13 or 14 digits"


@pytest.mark.parametrize(
    "text",
    [
        "0030777310502²",  # str.isdigit() is true for superscript two; int() is not
        "1234567²",
        "٠٠٣٠٧٧٧٣١٠٥٠٢٥",  # Arabic-Indic digits: accepted as a 'valid' non-ASCII GTIN
    ],
)
def test_normalize_gtin_refuses_non_ascii_digits(text: str) -> None:
    # when / then a typed refusal, or at least an ASCII GTIN
    try:
        gtin = normalize_gtin(text)
    except InvalidIdentifier:
        return
    assert gtin.isascii(), gtin


@pytest.mark.parametrize(
    ("gtin", "ndc_digits"),
    [
        ("00307773105025", "0777310502"),
        ("307773105025", "0777310502"),
        ("10307773105022", "0777310502"),
    ],
)
def test_ndc_from_gtin_reads_the_ndc_behind_prefix_03(gtin: str, ndc_digits: str) -> None:
    assert ndc_from_gtin(gtin) == ndc_digits


@pytest.mark.parametrize("gtin", ["4006381333931", "036000291452", "96385074"])
def test_ndc_from_gtin_is_none_outside_prefix_03(gtin: str) -> None:
    assert ndc_from_gtin(gtin) is None


def test_ndc_from_gtin_validates_the_gtin_first() -> None:
    with pytest.raises(InvalidIdentifier):
        ndc_from_gtin("00307773105026")


# --- round trips ---------------------------------------------------------------------------------


@given(ndcs)
def test_labelled_form_round_trips(ndc: Ndc) -> None:
    parsed = Ndc.parse(ndc.ndc10)
    assert parsed == ndc
    assert parsed.layout in LAYOUTS
    assert ndc in ndc10_candidates(ndc.digits)


@given(ndcs)
def test_billing_form_candidates_contain_the_ndc(ndc: Ndc) -> None:
    # when
    billing = ndc.ndc11
    candidates = ndc11_candidates(billing)
    # then
    assert len(billing) == 11
    assert billing.isdigit()
    assert ndc in candidates
    assert all(c.ndc11 == billing for c in candidates)
    assert ndc11_candidates(ndc.ndc11_hyphenated) == candidates
    if len(candidates) == 1:
        assert Ndc.from_ndc11(billing) == ndc


@given(ndcs)
def test_gtin_round_trips_to_the_ndc_digits(ndc: Ndc) -> None:
    # when
    gtin = ndc.to_gtin()
    # then
    assert len(gtin) == 14
    assert gtin.startswith("003")
    assert normalize_gtin(gtin) == gtin
    assert normalize_gtin(gtin[2:]) == gtin  # the GTIN-12 printed under a UPC-A barcode
    assert ndc_from_gtin(gtin) == ndc.digits


@given(ndcs, st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_is_refused(ndc: Ndc, shift: int) -> None:
    # given a GTIN whose last digit is wrong
    gtin = ndc.to_gtin()
    wrong = gtin[:-1] + str((int(gtin[-1]) + shift) % 10)
    # when / then
    with pytest.raises(InvalidIdentifier) as refused:
        normalize_gtin(wrong)
    assert refused.value.message.endswith(f"expected {gtin[-1]}")
