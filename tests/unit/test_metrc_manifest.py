"""METRC incoming transfer manifests, read from the API's own shapes into expected packages."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from rxledger.adapters.ingest.metrc import read_manifest
from rxledger.domain.errors import FileTooLarge, ShipmentDataRejected
from rxledger.domain.shipments import (
    BusinessTransaction,
    ExpectedLine,
    ExpectedPackage,
    Party,
    ProductInfo,
    ShipmentData,
)
from tests.conftest import SHARED_DATA

EXAMPLES: dict[str, Any] = json.loads(
    (SHARED_DATA / "metrc" / "api_examples.json").read_text(encoding="utf-8")
)["responses"]
LABEL_1, LABEL_2 = "ABCDEF012345670000010026", "ABCDEF012345670000010027"
# 10 avoirdupois ounces are 283,495.23125 mg; the half milligram is rounded off, with a warning.
TEN_OUNCES_MG = 283_495


def example(name: str) -> Any:
    """A fresh copy of a METRC API example response, as the API returns it."""
    return copy.deepcopy(EXAMPLES[name]["example_response"])


def incoming_transfer() -> dict[str, Any]:
    """The one incoming transfer of ``GET /transfers/v2/incoming``."""
    transfer: dict[str, Any] = example("Transfers/GetIncomingTransfers")["Data"][0]
    return transfer


def delivery_packages() -> list[dict[str, Any]]:
    """The packages of ``GET /transfers/v2/deliveries/{id}/packages``."""
    packages: list[dict[str, Any]] = example("Transfers/GetDeliveryPackageById")["Data"]
    return packages


def package(label: str, quantity: Any, unit: str | None = "Grams", **fields: Any) -> dict[str, Any]:
    """A delivery package like the API's, with another label, quantity and unit."""
    found = delivery_packages()[0]
    found.update(PackageLabel=label, ShippedQuantity=quantity, ShippedUnitOfMeasureName=unit)
    found.update(fields)
    return found


def combined(**parts: Any) -> dict[str, Any]:
    """The three API responses side by side: transfer, its deliveries, our delivery's packages."""
    manifest: dict[str, Any] = {
        "transfer": incoming_transfer(),
        "deliveries": example("Transfers/GetTransfersDeliveryById"),
        "packages": example("Transfers/GetDeliveryPackageById"),
    }
    manifest.update(parts)
    return manifest


def with_packages(*packages: dict[str, Any]) -> bytes:
    return encode(combined(packages=list(packages)))


def encode(manifest: Any) -> bytes:
    return json.dumps(manifest).encode()


def rejection(data: bytes) -> ShipmentDataRejected:
    with pytest.raises(ShipmentDataRejected) as caught:
        read_manifest(data)
    assert caught.value.code == "SHIPMENT_DATA_REJECTED"
    return caught.value


# --- the API's own example ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest() -> ShipmentData:
    return read_manifest(encode(combined()))


def test_the_manifest_names_the_shipment_and_both_licences(manifest: ShipmentData) -> None:
    # then
    assert manifest.format == "metrc-manifest"
    assert manifest.shipment_id == "0000000001"
    shipper = Party("123-ABC", "licence", "Lofty Med-Cultivation B")
    recipient = Party("123-ABC", "licence", "Lofty Med-Cultivation A")
    assert (manifest.sender, manifest.ship_from) == (shipper, shipper)
    assert (manifest.receiver, manifest.ship_to) == (recipient, recipient)
    assert manifest.transactions == (BusinessTransaction("desadv", "0000000001"),)
    # the departure time has no UTC offset: only its date is certain
    assert manifest.shipped_at is None
    assert manifest.shipped_on == date(2016, 10, 11)


def test_each_package_is_a_line_in_milligrams_and_a_uid_tagged_package(
    manifest: ShipmentData,
) -> None:
    # then
    assert manifest.lines == (
        ExpectedLine(1, TEN_OUNCES_MG, "mg", description="Buds", reference=LABEL_1),
        ExpectedLine(2, TEN_OUNCES_MG, "mg", description="Buds", reference=LABEL_2),
    )
    assert manifest.packages == (
        ExpectedPackage(None, LABEL_1, lab_testing_state="NotSubmitted"),
        ExpectedPackage(None, LABEL_2, lab_testing_state="NotSubmitted"),
    )
    assert manifest.serials == 2
    assert manifest.products == (ProductInfo(name="Buds", category="Buds"),)


def test_what_the_example_gets_wrong_is_said_in_warnings(manifest: ShipmentData) -> None:
    assert manifest.warnings == (
        "the shipper and the recipient have the same licence 123-ABC",
        "the departure time 2016-10-11T14:48:30.000 has no UTC offset; only its date is kept",
        f"package {LABEL_1}: 10.0 Ounces is 283495.23125 mg; rounded to 283495 mg",
        f"package {LABEL_2} is in state Rejected",
        f"package {LABEL_2}: 10.0 Ounces is 283495.23125 mg; rounded to 283495 mg",
        "the transfer counts 7 packages for this delivery; the manifest lists 2",
    )


def test_the_single_object_form_reads_the_same() -> None:
    # given the transfer with its delivery, and the delivery with its packages, in one object
    delivery = example("Transfers/GetTransfersDeliveryById")["Data"][0]
    delivery["Packages"] = delivery_packages()
    single = incoming_transfer() | {"Deliveries": [delivery]}
    # when / then
    assert read_manifest(encode(single)) == read_manifest(encode(combined()))


def test_the_transfer_may_come_as_the_paged_api_response() -> None:
    paged = example("Transfers/GetIncomingTransfers")
    assert read_manifest(encode(combined(transfer=paged))).shipment_id == "0000000001"


def test_deliveries_may_be_left_out() -> None:
    # when
    manifest = read_manifest(
        encode({"transfer": incoming_transfer(), "packages": [package("A", 1)]})
    )
    # then
    assert manifest.receiver == Party("123-ABC", "licence", "Lofty Med-Cultivation A")


def test_without_a_delivery_id_our_delivery_is_the_one_to_the_recipient() -> None:
    # given a transfer to two facilities, ours second, and no DeliveryId to say which
    transfer = incoming_transfer() | {"DeliveryId": None, "RecipientFacilityLicenseNumber": "C-2"}
    theirs, ours = (
        {"Id": n, "RecipientFacilityLicenseNumber": licence, "RecipientFacilityName": name}
        for n, licence, name in ((1, "C-1", "North Clinic"), (2, "C-2", "South Clinic"))
    )
    # when
    manifest = read_manifest(encode(combined(transfer=transfer, deliveries=[theirs, ours])))
    # then
    assert manifest.receiver == Party("C-2", "licence", "Lofty Med-Cultivation A")
    # and without a recipient either, which delivery is ours cannot be known
    del transfer["RecipientFacilityLicenseNumber"]
    data = encode(combined(transfer=transfer, deliveries=[theirs, ours]))
    assert "2 deliveries and does not say which is ours" in rejection(data).message


def test_the_package_shape_of_the_packages_api_is_read_too() -> None:
    # given a package as GET /packages/v2/{label} returns it: Label, Quantity, Item.*
    found = example("Packages/GetPackagesByLabel")
    found.update(Quantity=3.5, UnitOfMeasureName="Grams", LabTestingState="TestPassed")
    found.update(ProductionBatchNumber="PB-0412", ExpirationDate="2027-04-30")
    # when
    manifest = read_manifest(with_packages(found))
    # then
    assert manifest.lines == (
        ExpectedLine(1, 3500, "mg", lot="PB-0412", expiry=date(2027, 4, 30), description="Buds",
                     reference="ABCDEF012345670000010042"),
    )  # fmt: skip
    assert manifest.packages == (
        ExpectedPackage(None, "ABCDEF012345670000010042", "PB-0412", date(2027, 4, 30),
                        lab_testing_state="TestPassed"),
    )  # fmt: skip
    assert manifest.products == (ProductInfo(name="Buds", category="Buds"),)


def test_a_departure_time_with_an_offset_is_kept_in_utc() -> None:
    # given
    transfer = incoming_transfer() | {"ActualDepartureDateTime": "2026-05-28T09:15:00-07:00"}
    # when
    manifest = read_manifest(encode(combined(transfer=transfer)))
    # then the actual departure wins over the estimate
    assert manifest.shipped_at == datetime(2026, 5, 28, 16, 15, tzinfo=UTC)
    assert manifest.shipped_on == date(2026, 5, 28)


def test_an_invoice_number_is_a_business_transaction() -> None:
    transfer = incoming_transfer() | {"InvoiceNumber": "INV-001-0236521"}
    manifest = read_manifest(encode(combined(transfer=transfer)))
    assert BusinessTransaction("inv", "INV-001-0236521") in manifest.transactions


# --- quantities -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit", "expected", "base"),
    [
        (3.5, "Grams", 3500, "mg"),
        (28, "g", 28000, "mg"),
        (0.001, "Grams", 1, "mg"),
        (0.25, "Kilograms", 250_000, "mg"),
        (250, "Milligrams", 250, "mg"),
        (12, "Each", 12, "EA"),
        (12.0, "ea", 12, "EA"),
        (1, "Pounds", 453_592, "mg"),  # 453,592.37 mg
        (0.125, "Ounces", 3544, "mg"),  # an eighth: 3,543.690390625 mg
        (2, "Ounces", 56_699, "mg"),  # 56,699.04625 mg
        (500, "Milliliters", 500_000, "uL"),
        (1.5, "Liters", 1_500_000, "uL"),
    ],
)
def test_quantities_become_whole_base_units(
    quantity: float, unit: str, expected: int, base: str
) -> None:
    # when
    (line,) = read_manifest(with_packages(package("P-1", quantity, unit))).lines
    # then
    assert (line.quantity, line.unit) == (expected, base)


def test_a_quantity_in_milligrams_is_exact_to_the_last_digit() -> None:
    # given a weight whose float would not be exact
    data = with_packages(package("P-1", 0.1, "Grams"), package("P-2", 1234567.891, "Grams"))
    # when
    lines = read_manifest(data).lines
    # then
    assert [line.quantity for line in lines] == [100, 1_234_567_891]


@pytest.mark.parametrize(
    ("quantity", "unit", "fragment"),
    [
        (1.2345, "Grams", "1.2345 Grams is not a whole number of mg"),
        (2.0000005, "Kilograms", "2.0000005 Kilograms is not a whole number of mg"),
        (2.5, "Each", "2.5 Each is not a whole number of EA"),
        (-3.5, "Grams", "quantity -3.5 must be positive"),
        (0, "Grams", "quantity 0 must be positive"),
        ("3.5", "Grams", "quantity '3.5' is not a number"),
        (True, "Each", "quantity True is not a number"),
        (3.5, "Fluid Ounces", "unit 'Fluid Ounces' is not one this reader converts"),
        (3.5, None, "$.packages[0].ShippedUnitOfMeasureName is missing"),
        (None, "Grams", "$.packages[0].ShippedQuantity is missing"),
        (1e-7, "Ounces", "less than one mg"),
    ],
)
def test_a_quantity_that_is_not_exact_or_not_positive_is_refused(
    quantity: Any, unit: str | None, fragment: str
) -> None:
    error = rejection(with_packages(package("P-1", quantity, unit)))
    assert fragment in error.message
    assert error.details["path"].startswith("$.packages[0]")


# --- what is refused ------------------------------------------------------------------------------


def transfer_with(**fields: Any) -> bytes:
    return encode(combined(transfer=incoming_transfer() | fields))


def without(key: str) -> bytes:
    transfer = incoming_transfer()
    del transfer[key]
    return encode(combined(transfer=transfer))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (transfer_with(ShipperFacilityLicenseNumber=None),
         "$.transfer.ShipperFacilityLicenseNumber is missing"),
        (transfer_with(ShipperFacilityLicenseNumber="  "),
         "$.transfer.ShipperFacilityLicenseNumber is missing"),
        (without("ShipperFacilityLicenseNumber"),
         "$.transfer.ShipperFacilityLicenseNumber is missing"),
        (encode(combined(transfer=incoming_transfer() | {"RecipientFacilityLicenseNumber": None},
                         deliveries=[])),
         "$.transfer.RecipientFacilityLicenseNumber is missing"),
        (transfer_with(RecipientFacilityLicenseNumber="999-XYZ"),
         "recipient licence 999-XYZ differs from its delivery's 123-ABC"),
        (transfer_with(ManifestNumber=None), "$.transfer.ManifestNumber is missing"),
        (transfer_with(ShipperFacilityLicenseNumber=123), "must be a string, not int"),
        (transfer_with(IsVoided=True), "the transfer is voided"),
        (transfer_with(DeliveryId=99), "no delivery with Id 99"),
        (with_packages(package("P-1", 1), package("P-1", 2)),
         "$.packages[1]: package label P-1 appears twice (first at $.packages[0])"),
        (with_packages(package("", 1)), "$.packages[0].PackageLabel is missing"),
        (with_packages(package("P-1", 1), {"ShippedQuantity": 1}),
         "$.packages[1].PackageLabel is missing"),
        (with_packages(), "the manifest lists no packages"),
        (encode(combined(packages={"Data": "none"})), "$.packages.Data must be a list"),
        (encode(combined(packages=["P-1"])), "$.packages[0] must be an object"),
        (encode(combined(transfer=example("Transfers/GetHub"))),
         "holds 2 transfers; a manifest is one"),
        (encode({"packages": delivery_packages()}), "$.transfer is missing"),
        (encode([incoming_transfer()]), "$ must be an object"),
        (encode(incoming_transfer()), "no packages: give Packages or Deliveries[].Packages"),
        (b"", "not JSON"),
        (b"ISA*00*          *00*", "not JSON"),
        (b'{"transfer": {"ManifestNumber": "1",', "not JSON"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"transfer": NaN}', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)  # fmt: skip
def test_a_broken_manifest_is_refused_naming_what_and_where(data: bytes, fragment: str) -> None:
    error = rejection(data)
    assert fragment in error.message
    assert error.message.startswith("METRC manifest: ")


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(FileTooLarge):
        read_manifest(b" " * (50 * 1024 * 1024) + encode(combined()))
