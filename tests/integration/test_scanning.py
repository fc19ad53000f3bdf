"""Scans matched to a real item master, on SQLite and on PostgreSQL: item, package level, NDC
layout resolved from the master or reported as ambiguous."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rxledger.domain import errors
from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, scanning
from rxledger.services.catalog import PackageSpec
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network
from tests.unit.test_scanning_vectors import load_vectors


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def epcis_vectors() -> list[dict[str, Any]]:
    """The vectors whose expectations come from an EPCIS example's master data (EPCClass)."""
    return [v for v in load_vectors() if "regulated_product_name" in v["expected"]]


def epcistra(net: Network) -> Item:
    """The item master entry the EPCIS example describes: NDC 0001-0123-45, unit and case."""
    return net.item(
        "Epcistra",
        base_unit="pill",
        strength="100mg",
        dosage_form="PILL",
        ndc10="0001-0123-45",
        packages=(
            PackageSpec("lowest saleable unit", 500, "00300010123455", "0001-0123-45", "500 pills"),
            PackageSpec("case", 6000, "10300010123452", None, "12 bottles"),
        ),
    )


def test_the_epcis_example_products_match_their_item_and_package_level(net: Network) -> None:
    # given the item master of the EPCIS example
    item = epcistra(net)
    vectors = epcis_vectors()
    assert len(vectors) == 2
    for vector in vectors:
        expected = vector["expected"]
        # when its EPC class is scanned
        result = scanning.parse_scan(net.rt, net.actor, vector["input"])
        # then the item, the package level and the labelled NDC are the master's
        assert result.item is not None
        assert result.item.id == item.id
        assert result.item.name == expected["regulated_product_name"]
        assert (result.item.dosage_form, result.item.strength) == (
            expected["dosage_form"],
            expected["strength"],
        )
        assert result.package is not None
        assert result.package.level == expected["packaging_level"]
        shown = result.as_dict()
        assert shown["ndc"] == expected["ndc_asserted"]
        assert (shown["ndc_layout"], shown["ndc10"]) == (expected["ndc_format"], expected["ndc10"])


def test_a_datamatrix_gives_item_package_lot_expiry_and_the_billing_ndc(net: Network) -> None:
    item = epcistra(net)
    # when a case's DataMatrix is scanned
    result = scanning.parse_scan(net.rt, net.actor, "]d201103000101234521725032710A123\x1d21110")
    # then
    shown = result.as_dict()
    assert shown["item"]["id"] == item.id
    assert shown["package"] == {
        "level": "case",
        "base_units": 6000,
        "gtin": "10300010123452",
        "description": "12 bottles",
    }
    assert (shown["ndc10"], shown["ndc11"], shown["ndc_ambiguous"]) == (
        "0001012345",
        "00001012345",
        False,
    )
    assert (shown["lot"], shown["expiry"], shown["serial"]) == ("A123", "2025-03-27", "110")


def test_an_ndc_whose_gtin_is_not_on_file_matches_the_items_ndc(net: Network) -> None:
    # given an item known only by its NDC, in the 5-3-2 layout
    item = net.item("Layout test", ndc10="12345-678-90", packages=(PackageSpec("bottle", 100),))
    # when its UPC-A is scanned: the digits fit 4-4-2, 5-3-2 and 5-4-1
    result = scanning.parse_scan(net.rt, net.actor, "]E0312345678906")
    # then the item master settles the layout
    assert result.item is not None
    assert result.item.id == item.id
    assert result.ndc is not None
    assert result.ndc.ndc is not None
    assert (result.ndc.ndc.ndc10, result.ndc.ndc11) == ("12345-678-90", "12345067890")
    assert result.package is None  # no package is labelled with that NDC


def test_another_package_of_the_same_product_settles_the_layout(net: Network) -> None:
    # given the 100-count of a product on file as 12345-678-11
    net.item("Same product", ndc10="12345-678-11")
    # when the NDC of its 500-count (not on file) is typed without hyphens
    result = scanning.parse_scan(net.rt, net.actor, "1234567890")
    # then the layout is known, though no item matches
    assert result.item is None
    assert result.as_dict()["ndc"] == "12345-678-90"
    assert result.as_dict()["ndc11"] == "12345067890"


def test_an_ndc_the_master_does_not_know_is_reported_as_ambiguous(net: Network) -> None:
    result = scanning.parse_scan(net.rt, net.actor, "]E0312345678906")
    shown = result.as_dict()
    assert (shown["item"], shown["ndc"], shown["ndc11"]) == (None, None, None)
    assert shown["ndc_ambiguous"] is True
    assert shown["ndc_candidates"] == ["1234-5678-90", "12345-678-90", "12345-6789-0"]
    with pytest.raises(errors.AmbiguousNdc):
        scanning.require_item(result)


def test_a_typed_billing_ndc_of_open_layout_is_resolved_by_the_item(net: Network) -> None:
    item = net.item("Billing", ndc10="00777-310-02")
    result = scanning.parse_scan(net.rt, net.actor, "00777031002")
    assert result.item is not None
    assert result.item.id == item.id
    assert result.as_dict()["ndc"] == "00777-310-02"
    assert result.as_dict()["ndc10"] == "0077731002"


def test_a_typed_ndc_finds_the_package_by_its_gtin(net: Network) -> None:
    item = net.item(
        "Amoxicillin 500 mg capsule",
        ndc10="0777-3105-02",
        packages=(PackageSpec("bottle", 100, "00307773105025"),),
    )
    result = scanning.parse_scan(net.rt, net.actor, "0777-3105-02")
    assert result.item is not None
    assert result.item.id == item.id
    assert result.package is not None
    assert (result.package.level, result.package.base_units) == ("bottle", 100)


def test_a_case_gtin_not_on_file_is_not_taken_for_the_unit(net: Network) -> None:
    # given the unit's NDC on file, but not the case's GTIN (indicator 1)
    net.item("Units only", ndc10="0002-0800-01")
    # when the case is scanned, then it is an unknown package, never the unit counted as one
    result = scanning.parse_scan(net.rt, net.actor, "]I110300020800015")
    assert result.item is None
    assert result.as_dict()["ndc10"] == "0002080001"


def test_items_of_another_organization_are_not_matched(net: Network, rt: Runtime) -> None:
    epcistra(net)
    other = catalog.create_organization(rt, "OTHER", "Other Health")
    result = scanning.parse_scan(rt, Actor(other.id, "tech"), "(01)00300010123455")
    assert result.item is None


def test_an_auditor_may_parse_scans(net: Network) -> None:
    epcistra(net)
    auditor = Actor(net.actor.organization_id, "auditor", None, (Grant(Role.AUDITOR, None),))
    result = scanning.parse_scan(net.rt, auditor, "(01)00300010123455(17)270100")
    assert result.item is not None
    assert result.scan.expiry == date(2027, 1, 31)
