"""The demo network, built small (25 items, 60 days) on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from biip.checksums import gs1_standard_check_digit
from sqlalchemy import func, select

from rxledger.adapters import tables as t
from rxledger.adapters.database import create_db_engine
from rxledger.demo import DemoSummary, build_demo, is_empty
from rxledger.demo.codes import (
    NdcAllocator,
    case_gtin,
    dea_check_digit,
    dea_number,
    gln,
    is_valid_dea_number,
)
from rxledger.demo.products import DpdProduct, Ingredient, dea_schedule
from rxledger.domain.clock import ManualClock
from rxledger.domain.identifiers import Ndc, normalize_gtin
from rxledger.domain.model import DeaSchedule, LocationType
from rxledger.domain.permissions import Grant, Role
from rxledger.services import approvals, catalog, counts, integrity, queries
from rxledger.services.runtime import Actor, Runtime

SMALL = {"seed": 7, "item_count": 25, "days": 60}


@pytest.fixture
def second_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """Another fresh SQLite database (``sqlite_url`` shares the ``rt`` fixture's file)."""
    path = tmp_path / "second.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def test_small_demo_builds_a_sound_realistic_network(
    rt: Runtime, clock: ManualClock, second_sqlite_url: str
) -> None:
    # given an empty database
    assert is_empty(rt)
    stages: Counter[str] = Counter()
    # when
    summary = build_demo(rt, progress=lambda stage, done, total: stages.update([stage]), **SMALL)
    # then
    assert not is_empty(rt)
    assert set(stages) == {"Building the network", "Creating items", "Posting history (days)"}
    assert summary.refusals == 0
    assert integrity.check(rt).ok, integrity.check(rt).findings
    actor = Actor.system(catalog.organization_by_code(rt, "RIVERSIDE").id)
    assert_sites_and_locations(rt, actor, summary)
    assert_items_carry_valid_identifiers(rt, actor, summary)
    assert_lots_are_staggered(rt, actor, clock)
    assert_dispensing_on_most_days(rt, summary)
    assert_inventory_control_waits(rt, actor)
    assert_same_seed_same_demo(rt, second_sqlite_url, summary)


def assert_inventory_control_waits(rt: Runtime, actor: Actor) -> None:
    """A half-counted blind count, a line waiting for its recount, a write-off in the inbox."""
    central = next(s for s in catalog.list_sites(rt, actor) if s.code == "CENTRAL")
    listed = counts.list_counts(rt, actor)
    assert {c.status for c in listed} == {"open", "submitted"}
    submitted = next(c for c in listed if c.status == "submitted")
    [line] = counts.get_count(rt, actor, submitted.id).lines
    assert line.status == "recount"
    assert line.counters == {"tech"}
    today = next(c for c in listed if c.status == "open")
    lines = counts.get_count(rt, actor, today.id).lines
    assert 0 < sum(1 for x in lines if x.tally is not None) < len(lines)
    pharmacist = Actor(
        actor.organization_id, "pharmacist", None, (Grant(Role.PHARMACIST, central.id),)
    )
    [held] = [x for x in approvals.inbox(rt, pharmacist) if x.subject_type == "adjustment"]
    assert held.requested_by == "manager"
    assert held.value is not None
    assert held.value >= 250


def assert_sites_and_locations(rt: Runtime, actor: Actor, summary: DemoSummary) -> None:
    """Three licensed sites; each has the location types its kind of pharmacy needs."""
    sites = {s.code: s for s in catalog.list_sites(rt, actor)}
    assert set(sites) == {"CENTRAL", "SATELLITE", "RETAIL"}
    assert summary.sites == 3
    for site in sites.values():
        assert site.dea_number is not None
        assert is_valid_dea_number(site.dea_number)
        assert site.gln is not None
        assert len(site.gln) == 13
        assert int(site.gln[-1]) == gs1_standard_check_digit(site.gln[:-1])
        assert site.state_license
    types = {
        code: Counter(loc.type for loc in catalog.list_locations(rt, actor, site.id))
        for code, site in sites.items()
    }
    hospital = {"RECEIVING", "STORAGE", "VAULT", "REFRIGERATOR", "QUARANTINE", "RETURNS"}
    satellite = {"STORAGE", "DISPENSING_CABINET"}
    retail = {"RECEIVING", "STORAGE", "SALES_FLOOR", "VAULT", "REFRIGERATOR", "QUARANTINE"}
    assert {LocationType[n] for n in hospital} <= set(types["CENTRAL"])
    assert {LocationType[n] for n in satellite} <= set(types["SATELLITE"])
    assert {LocationType[n] for n in retail} <= set(types["RETAIL"])
    assert types["CENTRAL"][LocationType.STORAGE] >= 4  # storage areas and their shelves
    central = catalog.list_locations(rt, actor, sites["CENTRAL"].id)
    storage = LocationType.STORAGE
    parents = {loc.id for loc in central if loc.type is storage and loc.parent_id is None}
    assert any(loc.parent_id in parents for loc in central)


def assert_items_carry_valid_identifiers(rt: Runtime, actor: Actor, summary: DemoSummary) -> None:
    """Every item: a unique 10-digit NDC, the package GTIN derived from it, integer packs."""
    with rt.uow(read_only=True) as uow:
        item_ids = list(uow.connection.execute(select(t.items.c.id)).scalars())
    items = [catalog.get_item(rt, actor, item_id) for item_id in item_ids]
    assert len(items) == summary.items == SMALL["item_count"]
    ndcs = set()
    for item in items:
        assert item.ndc10 is not None
        ndc = Ndc.parse(item.ndc10)
        ndcs.add(ndc.digits)
        levels = {p.level: p for p in item.packages}
        assert levels["unit"].base_units == 1
        assert levels["package"].gtin == ndc.to_gtin()
        assert levels["case"].base_units % levels["package"].base_units == 0
        for package in item.packages:
            if package.gtin:
                assert normalize_gtin(package.gtin) == package.gtin
        assert item.standard_cost > 0
        assert item.atc_code
    assert len(ndcs) == len(items)
    assert len({Ndc.parse(i.ndc10 or "").layout for i in items}) >= 2
    assert any(i.dea_schedule is DeaSchedule.CII for i in items)
    assert sum(i.is_controlled for i in items) >= 3


def assert_lots_are_staggered(rt: Runtime, actor: Actor, clock: ManualClock) -> None:
    """On the shelves: some lots already expired, some expiring within 30 days, most further out."""
    today = clock.now().date()
    shelf = [r for r in queries.balances(rt, actor) if r.expiry is not None]
    expired = {r.lot_id for r in shelf if r.expiry < today}
    soon = {r.lot_id for r in shelf if today <= r.expiry <= today + timedelta(days=30)}
    later = {r.lot_id for r in shelf if r.expiry > today + timedelta(days=180)}
    assert expired
    assert soon
    assert len(later) > len(expired) + len(soon)


def assert_dispensing_on_most_days(rt: Runtime, summary: DemoSummary) -> None:
    """Dispenses on nearly every day of the history, batched per location and day."""
    d = t.documents
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        dispense_times = conn.execute(
            select(d.c.occurred_at).where(d.c.doc_type == "dispense")
        ).scalars()
        days = {moment.date() for moment in dispense_times}
        kinds = set(conn.execute(select(d.c.doc_type).distinct()).scalars())
        documents = conn.execute(select(func.count()).select_from(d)).scalar_one()
    assert len(days) >= SMALL["days"] - 5
    assert {"receipt", "dispense", "transfer_ship", "transfer_receive", "adjustment"} <= kinds
    assert documents == summary.documents


def assert_same_seed_same_demo(rt: Runtime, other_url: str, summary: DemoSummary) -> None:
    """The same seed and end build the same demo, on another database (and engine)."""
    engine = create_db_engine(other_url)
    try:
        again = build_demo(Runtime(engine, rt.clock, rt.policy), **SMALL)
    finally:
        engine.dispose()
    assert (again.documents, again.movements, again.lots) == (
        summary.documents,
        summary.movements,
        summary.lots,
    )
    with rt.uow(read_only=True) as uow:
        movements = uow.connection.execute(select(func.count()).select_from(t.movements))
        assert movements.scalar_one() == summary.movements


# --- identifiers and the schedule mapping, without a database -----------------------------------


def test_dea_numbers_carry_the_dea_check_digit() -> None:
    assert dea_check_digit("123456") == 3  # (1+3+5) + 2*(2+4+6) = 33
    assert dea_number("a", "b", 123456) == "AB1234563"
    assert is_valid_dea_number("AB1234563")
    assert not is_valid_dea_number("AB1234564")


def test_glns_and_case_gtins_carry_the_gs1_check_digit() -> None:
    value = gln(101)
    assert len(value) == 13
    assert int(value[-1]) == gs1_standard_check_digit(value[:-1])
    case = case_gtin(Ndc("0777", "3105", "02"))
    assert case.startswith("1030777310502")
    assert normalize_gtin(case) == case


def test_allocated_ndcs_are_unique_and_mix_layouts() -> None:
    import numpy as np

    allocator = NdcAllocator(np.random.default_rng(1))
    ndcs = [allocator.allocate(f"Maker {n % 12}") for n in range(600)]
    assert len({n.digits for n in ndcs}) == 600
    assert len({n.ndc11 for n in ndcs}) == 600
    assert {n.layout for n in ndcs} == {"4-4-2", "5-3-2", "5-4-1"}


def _product(schedules: str, form: str, *ingredients: str) -> DpdProduct:
    return DpdProduct(
        drug_code=1,
        brand_name="X",
        schedules=schedules,
        form=form,
        routes=("ORAL",),
        atc_code="N02AA01",
        ingredients=tuple(Ingredient(name, "1 mg") for name in ingredients),
        company="Maker",
        package_info="100",
    )


@pytest.mark.parametrize(
    ("schedules", "form", "ingredients", "expected"),
    [
        ("Narcotic (CDSA I)", "TABLET", ("OXYCODONE HYDROCHLORIDE",), DeaSchedule.CII),
        ("Narcotic (CDSA I)", "TABLET", ("ACETAMINOPHEN", "CODEINE PHOSPHATE"), DeaSchedule.CIII),
        ("Narcotic (CDSA I)", "SYRUP", ("CODEINE PHOSPHATE", "GUAIFENESIN"), DeaSchedule.CV),
        ("Narcotic (CDSA I)", "TABLET", ("BUPRENORPHINE", "NALOXONE"), DeaSchedule.CIII),
        ("Narcotic (CDSA I)", "TABLET", ("ATROPINE SULFATE", "DIPHENOXYLATE"), DeaSchedule.CV),
        ("Narcotic (CDSA II)", "CAPSULE", ("NABILONE",), DeaSchedule.CII),
        ("Schedule G (CDSA I)", "CAPSULE", ("MIXED SALTS AMPHETAMINE",), DeaSchedule.CII),
        ("Schedule G (CDSA III)", "TABLET", ("METHYLPHENIDATE HYDROCHLORIDE",), DeaSchedule.CII),
        ("Schedule G (CDSA IV)", "TABLET", ("PHENOBARBITAL",), DeaSchedule.CIV),
        ("Schedule G (CDSA IV)", "GEL", ("TESTOSTERONE",), DeaSchedule.CIII),
        ("Targeted (CDSA IV)", "TABLET", ("LORAZEPAM",), DeaSchedule.CIV),
        ("Prescription", "TABLET", ("AMLODIPINE",), None),
    ],
)
def test_canadian_schedules_map_to_dea_schedules(
    schedules: str, form: str, ingredients: tuple[str, ...], expected: DeaSchedule | None
) -> None:
    assert dea_schedule(_product(schedules, form, *ingredients)) is expected
