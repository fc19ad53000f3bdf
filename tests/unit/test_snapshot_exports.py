"""On-hand and sales exports as other systems write them: their own column names, semicolons or
tabs, grouped thousands, a time of day on the sale; and what stays refused."""

from __future__ import annotations

from datetime import date

import pytest

from rxledger.adapters.ingest.snapshots import read_on_hand_csv, read_sales_csv
from rxledger.domain.errors import InvalidInputFile


def test_a_pos_export_with_its_own_column_names() -> None:
    data = (
        "\ufeffItem Number,Description,Batch #,Qty On Hand\r\n"
        'AMOX500,Amoxicillin 500 mg,L1,"1,250"\r\n'
        "IBU200,Ibuprofen 200 mg,,0\r\n"
    ).encode()
    lines = read_on_hand_csv(data)
    assert [(x.external_id, x.identifier, x.lot, x.quantity) for x in lines] == [
        ("AMOX500", "sku", "L1", 1250),
        ("IBU200", "sku", None, 0),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_semicolons_tabs_and_bars(delimiter: str) -> None:
    rows = [["UPC", "LOT", "On Hand"], ["00300935056012", "A1", "12"]]
    data = "\n".join(delimiter.join(r) for r in rows).encode()
    [line] = read_on_hand_csv(data)
    assert (line.external_id, line.identifier, line.lot, line.quantity) == (
        "00300935056012",
        "barcode",
        "A1",
        12,
    )


def test_the_first_identifier_kind_present_wins_and_the_ndc_has_its_aliases() -> None:
    [line] = read_on_hand_csv(b"NDC11,QOH\n00093-4155-73,30\n")
    assert (line.identifier, line.external_id, line.quantity) == ("ndc", "00093-4155-73", 30)
    [both] = read_on_hand_csv(b"PLU,UPC,Count\n4011,0001234567890,3\n")
    assert (both.identifier, both.external_id) == ("sku", "4011")


@pytest.mark.parametrize("quantity", ["1,5", "12.5", "1,25", "-3", "ten", "1,2345"])
def test_a_quantity_that_is_not_whole_units_is_refused_with_its_line(quantity: str) -> None:
    with pytest.raises(InvalidInputFile) as refused:
        read_on_hand_csv(f'sku;quantity\nAMOX500;ok\nIBU200;"{quantity}"\n'.encode())
    problems = refused.value.details["problems"]
    assert {p["where"] for p in problems} == {"line 2", "line 3"}


def test_sales_with_a_time_of_day_and_the_pos_names() -> None:
    data = (
        b"Transaction Date,PLU,Qty Sold\n"
        b"2026-12-05 14:03:11,AMOX500,2\n"
        b"2026-12-05T18:40:00-05:00,AMOX500,-1\n"
        b'2026-12-06,IBU200,"1,000"\n'
    )
    assert [(r.day, r.sku, r.quantity) for r in read_sales_csv(data)] == [
        (date(2026, 12, 5), "AMOX500", 2),
        (date(2026, 12, 5), "AMOX500", -1),
        (date(2026, 12, 6), "IBU200", 1000),
    ]


def test_a_day_month_order_is_not_guessed() -> None:
    with pytest.raises(InvalidInputFile) as refused:
        read_sales_csv(b"date,sku,quantity\n05/12/2026,AMOX500,1\n")
    [problem] = refused.value.details["problems"]
    assert (problem["field"], problem["value"]) == ("date", "05/12/2026")


def test_a_missing_quantity_column_is_named() -> None:
    with pytest.raises(InvalidInputFile) as refused:
        read_on_hand_csv(b"sku,description\nAMOX500,Amoxicillin\n")
    assert [p["field"] for p in refused.value.details["problems"]] == ["quantity"]
