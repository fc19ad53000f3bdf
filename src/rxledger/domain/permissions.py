"""Who may do what, where: roles granted per site, and the permissions each role carries.

Permissions are checked in the service layer, so the CLI, the API and the web UI obey the same
rules. A grant without a site covers every site of the organization. An auditor reads everything
and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from rxledger.domain.errors import Forbidden


class Role(StrEnum):
    TECHNICIAN = "technician"
    PHARMACIST = "pharmacist"
    BUYER = "buyer"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW = "view"
    RECEIVE = "receive"
    MOVE = "move"
    TRANSFER = "transfer"
    DISPENSE = "dispense"
    ADJUST = "adjust"
    REVERSE = "reverse"
    MANAGE_ITEMS = "manage_items"
    MANAGE_USERS = "manage_users"
    MANAGE_SITES = "manage_sites"
    ORDER = "order"  # requisitions and purchase orders
    APPROVE_ORDERS = "approve_orders"
    MANAGE_SUPPLIERS = "manage_suppliers"
    INVESTIGATE = "investigate"  # discrepancies, suspect product, release from quarantine
    APPROVE_ITEMS = "approve_items"  # item-master proposals from receiving


_TECH = {
    Permission.VIEW,
    Permission.RECEIVE,
    Permission.MOVE,
    Permission.TRANSFER,
    Permission.DISPENSE,
}
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.TECHNICIAN: frozenset(_TECH),
    Role.PHARMACIST: frozenset(
        _TECH
        | {
            Permission.ADJUST,
            Permission.REVERSE,
            Permission.MANAGE_ITEMS,
            Permission.ORDER,
            Permission.APPROVE_ORDERS,
            Permission.INVESTIGATE,
            Permission.APPROVE_ITEMS,
        }
    ),
    Role.BUYER: frozenset(
        {
            Permission.VIEW,
            Permission.RECEIVE,
            Permission.MANAGE_ITEMS,
            Permission.ORDER,
            Permission.MANAGE_SUPPLIERS,
        }
    ),
    Role.MANAGER: frozenset(
        _TECH
        | {
            Permission.ADJUST,
            Permission.REVERSE,
            Permission.MANAGE_ITEMS,
            Permission.ORDER,
            Permission.APPROVE_ORDERS,
            Permission.MANAGE_SUPPLIERS,
            Permission.INVESTIGATE,
        }
    ),
    Role.AUDITOR: frozenset({Permission.VIEW}),
    Role.ADMIN: frozenset(Permission),
}
ALL_SITES: int | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    site_id: int | None  # None: every site of the organization


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, in which organization, with which roles at which sites."""

    organization_id: int
    username: str
    user_id: int | None = None
    grants: tuple[Grant, ...] = field(default=(Grant(Role.ADMIN, ALL_SITES),))

    @classmethod
    def system(cls, organization_id: int, username: str = "system") -> Actor:
        """The operator at the console: every permission at every site (``rxledger`` CLI, demo)."""
        return cls(organization_id, username, None, (Grant(Role.ADMIN, ALL_SITES),))

    def roles_at(self, site_id: int) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if g.site_id in (ALL_SITES, site_id))

    def can(self, permission: Permission, site_id: int) -> bool:
        if permission is Permission.VIEW and self.sees_all_sites:
            return True
        return any(permission in ROLE_PERMISSIONS[r] for r in self.roles_at(site_id))

    def require(self, permission: Permission, site_id: int) -> None:
        """Refuse with ``FORBIDDEN`` unless a role granted at this site carries the permission."""
        if not self.can(permission, site_id):
            raise Forbidden(
                f"{self.username} may not {permission.value.replace('_', ' ')} at site {site_id}",
                permission=permission.value,
                site_id=site_id,
            )

    def require_anywhere(self, permission: Permission) -> None:
        """Refuse unless some grant carries the permission (organization-wide actions)."""
        if not any(permission in ROLE_PERMISSIONS[g.role] for g in self.grants):
            raise Forbidden(
                f"{self.username} may not {permission.value.replace('_', ' ')}",
                permission=permission.value,
            )

    @property
    def is_organization_admin(self) -> bool:
        """An administrator of every site: the only one who grants organization-wide roles."""
        return any(g.role is Role.ADMIN and g.site_id is ALL_SITES for g in self.grants)

    @property
    def sees_all_sites(self) -> bool:
        """Organization-wide grants (admins, auditors) see every site."""
        return any(g.site_id is ALL_SITES for g in self.grants)

    def visible_sites(self, all_site_ids: Iterable[int]) -> set[int]:
        ids = set(all_site_ids)
        if self.sees_all_sites:
            return ids
        return ids & {g.site_id for g in self.grants if g.site_id is not None}


def permission_to_post(doc_type: str) -> Permission:
    """The permission a document type needs at its site."""
    return _POSTING[doc_type]


_POSTING: Mapping[str, Permission] = {
    "receipt": Permission.RECEIVE,
    "put_away": Permission.MOVE,
    "move": Permission.MOVE,
    "transfer_ship": Permission.TRANSFER,
    "transfer_receive": Permission.TRANSFER,
    "dispense": Permission.DISPENSE,
    "dispense_reversal": Permission.DISPENSE,
    "adjustment": Permission.ADJUST,
    "reversal": Permission.REVERSE,
    # A write-off like an adjustment: whoever may adjust stock may destroy it. Investigation
    # outcomes that destroy stock also need INVESTIGATE, checked by the investigations service.
    "destruction": Permission.ADJUST,
}
