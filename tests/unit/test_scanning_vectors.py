"""Every barcode vector of ``../shared/data/gs1/vectors.json`` against :func:`parse_scan`.

Each vector is ``{input, kind, expected}``; only the keys present in ``expected`` are compared,
and ``valid: false`` must be rejected with ``INVALID_SCAN``. How each kind reaches the parser:

- ``element_string_gse_notation`` is GS1 syntax-engine notation: a leading ``^`` is FNC1 in first
  position and each later ``^`` the GS a scanner sends. It is fed as a GS1-128 scan would arrive:
  ``]C1`` followed by the data with GS separators. ``element_string`` kinds (biip's and the
  syntax engine's AI data) are fed the same way, behind ``]C1``: they are element strings, not
  bare retail numbers.
- ``hri_to_digital_link`` vectors come from the syntax engine's Digital Link *generation* test,
  which first requires the AI data to parse; ``valid: false`` there means no Digital Link can be
  made of the data, so the scan is either refused or has no ``digital_link``.
- Vectors that are valid GS1 data but name no product (no GTIN, SSCC, lot, serial or expiry
  expected) may be refused; when they are accepted, what they name is compared.
- Master data of EPCIS examples (``ndc_asserted``, product name, form, strength, package level)
  is not in a barcode: the NDC layout is resolved against ``ndc_asserted`` as the item master
  would; name, form and package level are checked in ``tests/integration/test_scanning.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import pytest

from rxledger.domain.errors import InvalidScan
from rxledger.domain.identifiers import Ndc
from rxledger.domain.scanning import Scan, parse_scan, resolve_ndc
from tests.conftest import NOW, SHARED_DATA

VECTORS_FILE = SHARED_DATA / "gs1" / "vectors.json"
TODAY = NOW.date()  # 2026-06-01: two-digit years 77..99 are 19xx, 00..76 are 20xx
PRODUCT_KEYS = {"gtin", "gtin_detected", "sscc", "lot", "serial", "expiry", "ndc10"}
# Provenance and commentary, not expectations.
METADATA_KEYS = {"fields_origin", "fields_note", "reason"}
# Item-master attributes of the EPCIS examples: checked against a real item master elsewhere.
MASTER_DATA_KEYS = {
    "packaging_level",
    "regulated_product_name",
    "dosage_form",
    "strength",
    "net_content",
}
SYMBOLOGIES = {
    "QR": "]Q",
    "DM": "]d",
    "DotCode": "]J",
    "DataBarExpanded": "]e",
    "GS1_128_CCA": "]C",
    "EAN13": "]E0",
    "EAN8": "]E4",
}
# The syntax engine's test enables the deprecated convenience alphas (/gtin/, /ser/) just before
# this vector and turns them off again after; the vector before it (https://a/gtin/...) is the
# same form with them off and must be refused. rxledger, like biip and GS1 Digital Link 1.2+,
# refuses them, so this one vector of the pair cannot pass.
#
# And biip's own tests use 00376130321109103421 as *the* example of an SSCC with a wrong check
# digit (expected 0, got 1); the vector copied biip.parse's lenient output, which reports that in
# ``sscc_error`` without raising. A wrong check digit is refused here, as for AI (01) in vector 128.
KNOWN_CONFLICTS = {
    "https://a/gtin/12312312312333/ser/ABC123": "needs GS1 DL convenience alphas (deprecated)",
    "00376130321109103421": "the SSCC's check digit is wrong: a scan with it is refused",
}


def load_vectors() -> list[dict[str, Any]]:
    if not VECTORS_FILE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the shared data: {VECTORS_FILE} is missing")
        pytest.skip(f"shared data missing: {VECTORS_FILE}")
    vectors: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return vectors


def _params() -> list[Any]:
    if not VECTORS_FILE.exists():
        return [pytest.param(None, id="shared-data-missing")]
    params = []
    for number, vector in enumerate(json.loads(VECTORS_FILE.read_text(encoding="utf-8"))):
        marks = []
        if vector["input"] in KNOWN_CONFLICTS and vector["expected"].get("valid", True):
            marks.append(pytest.mark.xfail(reason=KNOWN_CONFLICTS[vector["input"]], strict=True))
        params.append(pytest.param(vector, id=f"{number:03d}-{vector['kind']}", marks=marks))
    return params


def test_the_vectors_are_all_there() -> None:
    vectors = load_vectors()
    assert len(vectors) == 207
    assert {v["kind"] for v in vectors} >= {"scan_data", "digital_link_uri", "hri"}


@pytest.mark.parametrize("vector", _params())
def test_vector(vector: dict[str, Any] | None) -> None:
    if vector is None:
        load_vectors()  # fails under CI=true, skips elsewhere
        return
    expected: dict[str, Any] = vector["expected"]
    # given the input as a scanner or a person would send it
    data = scanner_input(vector["kind"], vector["input"])
    # when it is parsed
    outcome = _parse(data)
    # then a refusal is right for invalid data, and allowed for data that names no product
    if isinstance(outcome, InvalidScan):
        _check_refusal(outcome, expected)
        return
    scan = outcome
    # then an accepted scan must be valid and say what is expected
    if expected.get("valid") is False:
        assert vector["kind"] == "hri_to_digital_link", f"accepted invalid data: {scan}"
        assert scan.digital_link is None
        return
    for key, value in expected.items():
        if key in METADATA_KEYS | MASTER_DATA_KEYS or key == "valid":
            continue
        check = CHECKS.get(key)
        assert check is not None, f"no check for expected key {key!r}"
        check(scan, value, expected)


def _parse(data: str) -> Scan | InvalidScan:
    try:
        return parse_scan(data, TODAY)
    except InvalidScan as error:
        return error


def _check_refusal(error: InvalidScan, expected: dict[str, Any]) -> None:
    assert error.code == "INVALID_SCAN"
    assert error.message.startswith("invalid scan: ")
    if "error_regex" in expected:
        assert re.search(expected["error_regex"], error.details["reason"])
    if "error" in expected:
        assert error.details["reason"] == expected["error"]
    assert expected.get("valid") is False or not (PRODUCT_KEYS & expected.keys()), (
        f"refused a valid product scan: {error.message}"
    )


def scanner_input(kind: str, text: str) -> str:
    if kind == "element_string_gse_notation":
        return "]C1" + gse_to_raw(text)
    if kind == "element_string":
        return "]C1" + text
    return text


def gse_to_raw(text: str) -> str:
    """``^`` first = FNC1 in first position (dropped: ``]C1`` says it); later ``^`` = GS."""
    body = text.removeprefix("^")
    return body.replace("\\^", "\x00").replace("^", "\x1d").replace("\x00", "^")


def to_gse(element_string: str) -> str:
    return element_string.replace("\x1d", "^")


def _element(scan: Scan, ai: str) -> Any:
    found = [e for e in scan.elements if e.ai == ai]
    assert found, f"no AI ({ai}) in {scan.elements}"
    return found[0]


def _single(scan: Scan) -> Any:
    assert len(scan.elements) == 1
    return scan.elements[0]


def _ndc_format(scan: Scan, value: str, expected: dict[str, Any]) -> None:
    assert scan.ndc is not None
    reading = scan.ndc
    if "ndc_asserted" in expected:  # the item master knows the labelled NDC
        reading = resolve_ndc(reading, [Ndc.parse(expected["ndc_asserted"])])
    if value.startswith("ambiguous"):
        assert reading.ambiguous
        assert [c.ndc10 for c in reading.candidates] == re.findall(
            r"\d{4,5}-\d{3,4}-\d{1,2}", value
        )
    else:
        assert reading.ndc is not None
        assert reading.ndc.layout == value


def _ndc_asserted(scan: Scan, value: str, expected: dict[str, Any]) -> None:
    assert scan.ndc is not None
    resolved = resolve_ndc(scan.ndc, [Ndc.parse(value)])
    assert resolved.ndc is not None
    assert resolved.ndc.ndc10 == value


def _same_link(scan: Scan, value: str, expected: dict[str, Any]) -> None:
    """The same element strings, whatever the domain and the order of the query."""
    assert scan.digital_link is not None
    ours = parse_scan(scan.digital_link, TODAY)
    theirs = parse_scan(value, TODAY)
    assert {(e.ai, e.value) for e in ours.elements} == {(e.ai, e.value) for e in theirs.elements}


def _element_string(scan: Scan, value: str, expected: dict[str, Any]) -> None:
    if value.startswith("^") or scan.format in ("epc", "sscc"):
        assert scan.element_string is not None
        assert to_gse(scan.element_string) == value.removeprefix("^")
    else:  # non-GS1 data: what followed the symbology identifier
        assert scan.text[len(scan.symbology or "") :] == value


def _symbology(scan: Scan, value: str, expected: dict[str, Any]) -> None:
    assert scan.symbology is not None
    assert scan.symbology.startswith(SYMBOLOGIES[value])


Check = Callable[[Scan, Any, dict[str, Any]], None]


def _date_of(ai: str) -> Check:
    return lambda scan, value, _: _check_equal(_element(scan, ai).date.isoformat(), value)


def _raw_of(ai: str) -> Check:
    return lambda scan, value, _: _check_equal(_element(scan, ai).value, value)


def _check_equal(actual: object, expected: object) -> None:
    assert actual == expected


CHECKS: dict[str, Check] = {
    "gtin": lambda scan, value, _: _check_equal(scan.gtin, value),
    "gtin_detected": lambda scan, value, _: _check_equal(scan.gtin, value.zfill(14)),
    "gtin_check_digit_valid": lambda scan, value, _: _check_equal(scan.gtin is not None, value),
    "computed_check_digit": lambda scan, value, _: _check_equal(int((scan.gtin or "")[-1]), value),
    "check_digit": lambda scan, value, _: _check_equal(
        int((scan.gtin or scan.sscc or "")[-1]), value
    ),
    "upc_a": lambda scan, value, _: _check_equal(scan.gtin, "00" + value),
    "sscc": lambda scan, value, _: _check_equal(scan.sscc, value),
    "lot": lambda scan, value, _: _check_equal(scan.lot, value),
    "serial": lambda scan, value, _: _check_equal(scan.serial, value),
    "expiry": lambda scan, value, _: _check_equal(scan.expiry and scan.expiry.isoformat(), value),
    "expiry_raw": _raw_of("17"),
    "best_before": _date_of("15"),
    "best_before_raw": _raw_of("15"),
    "production_date": _date_of("11"),
    "production_date_raw": _raw_of("11"),
    "packaging_date": _date_of("13"),
    "packaging_date_raw": _raw_of("13"),
    "sell_by": _date_of("16"),
    "sell_by_raw": _raw_of("16"),
    "cpv": _raw_of("22"),
    "content_gtin": _raw_of("02"),
    "count_of_trade_items": _raw_of("37"),
    "ai": lambda scan, value, _: _check_equal(_single(scan).ai, value),
    "value": lambda scan, value, _: _check_equal(_single(scan).value, value),
    "date": lambda scan, value, _: _check_equal(_single(scan).date.isoformat(), value),
    "datetime": lambda scan, value, _: _check_equal(_single(scan).datetime.isoformat(), value),
    "ais": lambda scan, value, _: _check_equal([[e.ai, e.value] for e in scan.elements], value),
    "hri": lambda scan, value, _: _check_equal(scan.hri, value),
    "element_string": _element_string,
    "element_string_gs": lambda scan, value, _: _check_equal(scan.element_string, value),
    "symbology": _symbology,
    "symbology_identifier": lambda scan, value, _: _check_equal(scan.symbology, value),
    "canonical_uri": lambda scan, value, _: _check_equal(scan.digital_link, value),
    "digital_link_uri": _same_link,
    "epc": lambda scan, value, _: _check_equal(scan.epc, value),
    "ndc10": lambda scan, value, _: _check_equal(scan.ndc and scan.ndc.ndc10, value),
    "ndc11_hipaa_5_4_2": lambda scan, value, _: _check_equal(
        scan.ndc and scan.ndc.ndc and scan.ndc.ndc.ndc11, value
    ),
    "ndc_format": _ndc_format,
    "ndc_asserted": _ndc_asserted,
}
