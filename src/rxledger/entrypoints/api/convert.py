"""Domain objects to API bodies."""

from __future__ import annotations

from typing import Any

from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import Item, Location, Lot, Site
from rxledger.entrypoints.api import schemas as s
from rxledger.services.identity import TokenView, UserView
from rxledger.services.posting import PostedDocument


def site(x: Site) -> s.SiteOut:
    return s.SiteOut(
        id=x.id,
        code=x.code,
        name=x.name,
        kind=x.kind,
        dea_number=x.dea_number,
        state_license=x.state_license,
        gln=x.gln,
    )


def location(x: Location) -> s.LocationOut:
    return s.LocationOut(
        id=x.id,
        site_id=x.site_id,
        code=x.code,
        name=x.name,
        type=x.type,
        is_virtual=x.is_virtual,
        parent_id=x.parent_id,
    )


def item(x: Item) -> s.ItemOut:
    return s.ItemOut(
        id=x.id,
        sku=x.sku,
        name=x.name,
        generic_name=x.generic_name,
        strength=x.strength,
        dosage_form=x.dosage_form,
        route=x.route,
        base_unit=x.base_unit,
        ndc10=x.ndc10,
        ndc11=Ndc.parse(x.ndc10).ndc11 if x.ndc10 else None,
        dea_schedule=x.dea_schedule.value if x.dea_schedule else None,
        cannabis_category=x.cannabis_category,
        storage_class=x.storage_class.value,
        formulary_status=x.formulary_status.value,
        atc_code=x.atc_code,
        lot_tracked=x.lot_tracked,
        serial_tracked=x.serial_tracked,
        expiry_tracked=x.expiry_tracked,
        standard_cost=str(x.standard_cost),
        packages=[
            s.PackageOut(
                level=p.level,
                base_units=p.base_units,
                gtin=p.gtin,
                ndc10=p.ndc10,
                description=p.description,
            )
            for p in x.packages
        ],
    )


def lot(x: Lot) -> s.LotOut:
    return s.LotOut(
        id=x.id,
        item_id=x.item_id,
        lot_number=x.lot_number,
        expiry=x.expiry,
        status=x.status,
        manufacturer=x.manufacturer,
    )


def document(x: PostedDocument) -> dict[str, Any]:
    return x.as_dict()


def user(x: UserView) -> s.UserOut:
    return s.UserOut(
        id=x.id,
        username=x.username,
        full_name=x.full_name,
        active=x.active,
        grants=[s.GrantIO(role=g.role, site_id=g.site_id) for g in x.grants],
    )


def token(x: TokenView) -> s.TokenOut:
    return s.TokenOut(
        id=x.id,
        name=x.name,
        prefix=x.prefix,
        created_at=x.created_at,
        expires_at=x.expires_at,
        last_used_at=x.last_used_at,
        revoked_at=x.revoked_at,
    )
