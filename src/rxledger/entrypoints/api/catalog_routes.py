"""Sites, locations, items and lots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rxledger.domain.errors import LocationNotFound
from rxledger.domain.model import DeaSchedule, FormularyStatus, StorageClass
from rxledger.entrypoints.api import convert
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api.deps import (
    MAX_ID,
    NO_NUL,
    ActorDep,
    IdPath,
    PagingDep,
    RuntimeDep,
)
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import catalog
from rxledger.services.catalog import NewItem, PackageSpec

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/sites", response_model=s.Page[s.SiteOut], tags=["sites"])
def list_sites(rt: RuntimeDep, actor: ActorDep, paging: PagingDep) -> dict[str, object]:
    """The sites this user may see."""
    sites = catalog.list_sites(rt, actor)
    chunk = sites[paging.offset : paging.offset + paging.limit]
    return s.page(
        [convert.site(x) for x in chunk],
        paging.limit,
        paging.offset,
        len(sites) > paging.offset + paging.limit,
    )


@router.get("/sites/{site_id}", response_model=s.SiteOut, tags=["sites"])
def get_site(site_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> s.SiteOut:
    return convert.site(catalog.get_site(rt, actor, site_id))


@router.get("/locations", response_model=s.Page[s.LocationOut], tags=["sites"])
def list_locations(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this site's locations.")
    ] = None,
    include_virtual: bool = True,
) -> dict[str, object]:
    """Locations of the visible sites: the physical tree and each site's virtual locations."""
    if site_id is not None:
        catalog.get_site(rt, actor, site_id)
    rows = [
        x for x in catalog.list_locations(rt, actor, site_id) if include_virtual or not x.is_virtual
    ]
    chunk = rows[paging.offset : paging.offset + paging.limit]
    return s.page(
        [convert.location(x) for x in chunk],
        paging.limit,
        paging.offset,
        len(rows) > paging.offset + paging.limit,
    )


@router.get("/locations/{location_id}", response_model=s.LocationOut, tags=["sites"])
def get_location(location_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> s.LocationOut:
    for x in catalog.list_locations(rt, actor):
        if x.id == location_id:
            return convert.location(x)
    raise LocationNotFound(f"no location {location_id}", location_id=location_id)


@router.get("/items", response_model=s.Page[s.ItemOut], tags=["items"])
def search_items(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    q: Annotated[
        str,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="Name words, SKU, NDC (10/11 digits) or GTIN.",
        ),
    ] = "",
) -> dict[str, object]:
    """Search the item master by name, NDC, GTIN or SKU."""
    found = catalog.search_items(rt, actor, q, limit=paging.limit + 1, offset=paging.offset)
    return s.page(
        [convert.item(x) for x in found[: paging.limit]],
        paging.limit,
        paging.offset,
        len(found) > paging.limit,
    )


@router.get("/items/{item_id}", response_model=s.ItemOut, tags=["items"])
def get_item(item_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> s.ItemOut:
    return convert.item(catalog.get_item(rt, actor, item_id))


@router.post("/items", response_model=s.ItemOut, status_code=201, tags=["items"])
def create_item(body: s.ItemIn, rt: RuntimeDep, actor: ActorDep) -> s.ItemOut:
    """Add an item with its pack hierarchy (pharmacists, buyers, admins)."""
    spec = NewItem(
        **body.model_dump(
            exclude={"packages", "dea_schedule", "storage_class", "formulary_status"}
        ),
        dea_schedule=DeaSchedule(body.dea_schedule) if body.dea_schedule else None,
        storage_class=StorageClass(body.storage_class),
        formulary_status=FormularyStatus(body.formulary_status),
        packages=tuple(PackageSpec(**p.model_dump()) for p in body.packages),
    )
    return convert.item(catalog.create_item(rt, actor, spec))


@router.get("/items/{item_id}/lots", response_model=s.Page[s.LotOut], tags=["lots"])
def item_lots(
    item_id: IdPath, rt: RuntimeDep, actor: ActorDep, paging: PagingDep
) -> dict[str, object]:
    """An item's lots, earliest expiry first."""
    catalog.get_item(rt, actor, item_id)
    lots = catalog.list_lots(rt, actor, item_id)
    chunk = lots[paging.offset : paging.offset + paging.limit]
    return s.page(
        [convert.lot(x) for x in chunk],
        paging.limit,
        paging.offset,
        len(lots) > paging.offset + paging.limit,
    )


@router.get("/lots/{lot_id}", response_model=s.LotOut, tags=["lots"])
def get_lot(lot_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> s.LotOut:
    return convert.lot(catalog.get_lot(rt, actor, lot_id))


@router.put("/lots/{lot_id}/status", response_model=s.LotOut, tags=["lots"])
def set_lot_status(
    lot_id: IdPath, body: s.LotStatusIn, rt: RuntimeDep, actor: ActorDep
) -> s.LotOut:
    """Hold, quarantine, recall or release a lot (pharmacists, admins)."""
    return convert.lot(catalog.set_lot_status(rt, actor, lot_id, body.status))
