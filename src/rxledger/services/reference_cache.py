"""Sites and locations, read once per process.

No use case edits or deletes a site or a location once created (codes, types and sites are fixed;
a new layout is a new location), so the posting path need not ask the database for them on every
document. Only committed rows are cached: the posting transaction never creates either.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from rxledger.adapters import repository as repo
from rxledger.domain.model import Location, LocationType


class ReferenceCache:
    def __init__(self) -> None:
        self._locations: dict[int, Location] = {}
        self._site_orgs: dict[int, int] = {}
        self._virtual: dict[tuple[int, LocationType], Location] = {}

    def locations(self, conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, Location]:
        """The organization's locations among these ids (unknown or foreign ids are absent)."""
        missing = [i for i in ids if i not in self._locations]
        if missing:
            for location in repo.locations_by_id(conn, org_id, missing).values():
                self._locations[location.id] = location
        return {
            i: self._locations[i]
            for i in ids
            if i in self._locations and self._locations[i].organization_id == org_id
        }

    def site_exists(self, conn: Connection, org_id: int, site_id: int) -> bool:
        if site_id not in self._site_orgs:
            site = repo.site_by_id(conn, org_id, site_id)
            if site is None:
                return False
            self._site_orgs[site_id] = site.organization_id
        return self._site_orgs[site_id] == org_id

    def virtual(self, conn: Connection, site_id: int, type_: LocationType) -> Location | None:
        """The site's virtual location of this type (every site has exactly one of each)."""
        key = (site_id, type_)
        if key not in self._virtual:
            location = repo.virtual_location(conn, site_id, type_)
            if location is None:
                return None
            self._virtual[key] = location
        return self._virtual[key]
