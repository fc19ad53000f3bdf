"""Roles per site and what they allow, with no database."""

from __future__ import annotations

import pytest

from rxledger.domain.errors import Forbidden
from rxledger.domain.permissions import (
    ROLE_PERMISSIONS,
    Actor,
    Grant,
    Permission,
    Role,
    permission_to_post,
)


def actor(*grants: Grant) -> Actor:
    return Actor(1, "someone", 7, grants)


def test_a_role_counts_only_at_the_site_it_was_granted() -> None:
    tech = actor(Grant(Role.TECHNICIAN, 10))
    assert tech.can(Permission.DISPENSE, 10)
    assert not tech.can(Permission.DISPENSE, 11)
    assert not tech.can(Permission.VIEW, 11)
    with pytest.raises(Forbidden) as refused:
        tech.require(Permission.ADJUST, 10)
    assert refused.value.code == "FORBIDDEN"
    assert refused.value.details == {"permission": "adjust", "site_id": 10}


def test_an_auditor_reads_every_site_and_writes_nothing() -> None:
    auditor = actor(Grant(Role.AUDITOR, None))
    assert auditor.can(Permission.VIEW, 10)
    assert auditor.can(Permission.VIEW, 99)
    assert auditor.visible_sites([10, 11, 12]) == {10, 11, 12}
    for permission in Permission:
        if permission is not Permission.VIEW:
            assert not auditor.can(permission, 10), permission


def test_visible_sites_of_site_grants() -> None:
    person = actor(Grant(Role.TECHNICIAN, 10), Grant(Role.BUYER, 12))
    assert person.visible_sites([10, 11, 12]) == {10, 12}
    assert not person.sees_all_sites


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.TECHNICIAN, {"view", "receive", "move", "transfer", "dispense"}),
        (
            Role.PHARMACIST,
            {
                "view",
                "receive",
                "move",
                "transfer",
                "dispense",
                "adjust",
                "reverse",
                "manage_items",
                "order",
                "approve_orders",
                "investigate",
                "approve_items",
            },
        ),
        (
            Role.MANAGER,
            {
                "view",
                "receive",
                "move",
                "transfer",
                "dispense",
                "adjust",
                "reverse",
                "manage_items",
                "order",
                "approve_orders",
                "manage_suppliers",
                "investigate",
            },
        ),
        (Role.BUYER, {"view", "receive", "manage_items", "order", "manage_suppliers"}),
        (Role.AUDITOR, {"view"}),
        (Role.ADMIN, {p.value for p in Permission}),
    ],
)
def test_role_permissions(role: Role, allowed: set[str]) -> None:
    assert {p.value for p in ROLE_PERMISSIONS[role]} == allowed


def test_only_admins_manage_users_and_sites() -> None:
    for role in Role:
        manages = Permission.MANAGE_USERS in ROLE_PERMISSIONS[role]
        assert manages == (role is Role.ADMIN), role


def test_every_document_type_needs_a_permission() -> None:
    from rxledger.domain.model import DocumentType

    assert {permission_to_post(d.value) for d in DocumentType} <= set(Permission)
    assert permission_to_post("dispense") is Permission.DISPENSE
    assert permission_to_post("reversal") is Permission.REVERSE
