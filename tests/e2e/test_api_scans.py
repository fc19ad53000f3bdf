"""``POST /api/v1/scans/parse`` over HTTP against the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    ApiWorld,
    build_api_world,
    error,
    idle_app,
    ledger_state,
    ok,
    use_fast_password_hashing,
)

PARSE = "/scans/parse"
DATAMATRIX = "]d201003000101234551725032710A123\x1d2111"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return idle_app()


@pytest.fixture
def world(rt: Runtime, app: FastAPI) -> ApiWorld:
    world = build_api_world(rt, ("technician", "auditor"), app=app)
    world.net.item(
        "Epcistra",
        ndc10="0001-0123-45",
        packages=(PackageSpec("bottle", 500, "00300010123455"),),
    )
    return world


def test_a_datamatrix_is_parsed_and_matched(world: ApiWorld) -> None:
    # when
    shown = ok(world.api.post(PARSE, who="technician", json={"data": DATAMATRIX}))
    # then
    assert shown["gtin"] == "00300010123455"
    assert (shown["ndc10"], shown["ndc11"], shown["ndc"], shown["ndc_layout"]) == (
        "0001012345",
        "00001012345",
        "0001-0123-45",
        "4-4-2",
    )
    assert (shown["lot"], shown["expiry"], shown["serial"], shown["sscc"]) == (
        "A123",
        "2025-03-27",
        "11",
        None,
    )
    assert shown["item"]["name"] == "Epcistra"
    assert shown["package"]["level"] == "bottle"
    assert shown["epc"] == "urn:epc:id:sgtin:030001.0012345.11"
    assert [e["ai"] for e in shown["elements"]] == ["01", "17", "10", "21"]


def test_the_api_and_the_same_scan_in_other_forms_agree(world: ApiWorld) -> None:
    forms = [
        "(01)00300010123455(17)250327(10)A123(21)11",
        "https://id.gs1.org/01/00300010123455/10/A123/21/11?17=250327",
    ]
    first = ok(world.api.post(PARSE, who="auditor", json={"data": DATAMATRIX}))
    for data in forms:
        shown = ok(world.api.post(PARSE, who="auditor", json={"data": data}))
        assert {k: shown[k] for k in ("gtin", "lot", "expiry", "serial", "item")} == {
            k: first[k] for k in ("gtin", "lot", "expiry", "serial", "item")
        }


def test_an_unknown_ndc_is_reported_as_ambiguous(world: ApiWorld) -> None:
    shown = ok(world.api.post(PARSE, who="technician", json={"data": "1234567890"}))
    assert (shown["item"], shown["ndc"], shown["ndc_ambiguous"]) == (None, None, True)
    assert shown["ndc_candidates"] == ["1234-5678-90", "12345-678-90", "12345-6789-0"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("]d20100300010123456", "check digit"),
        ("(01)00300010123455(17)271331", "271331 is not a date"),
        ("]d20100300010123455891234", "Application Identifier"),
    ],
)
def test_an_invalid_scan_is_a_422_invalid_scan_naming_the_problem(
    world: ApiWorld, data: str, words: str
) -> None:
    before = ledger_state(world.rt)
    body = error(world.api.post(PARSE, who="technician", json={"data": data}), 422, "INVALID_SCAN")
    assert words in body["message"]
    assert body["details"]["reason"]
    assert ledger_state(world.rt) == before


def test_the_body_is_strict(world: ApiWorld) -> None:
    error(world.api.post(PARSE, who="technician", json={"data": ""}), 422, "VALIDATION_ERROR")
    error(world.api.post(PARSE, who="technician", json={"scan": "x"}), 422, "VALIDATION_ERROR")
    error(world.api.post(PARSE, who="technician", json={"data": 123}), 422, "VALIDATION_ERROR")


def test_parsing_needs_a_token(world: ApiWorld) -> None:
    error(world.api.post(PARSE, who=None, json={"data": DATAMATRIX}), 401, "UNAUTHENTICATED")
