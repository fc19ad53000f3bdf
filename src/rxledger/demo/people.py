"""One demo user per role, with passwords printed by ``make run`` (development only)."""

from __future__ import annotations

from dataclasses import dataclass

from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, identity
from rxledger.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    role: Role
    sites: tuple[str, ...]  # empty: every site

    @property
    def where(self) -> str:
        return ", ".join(self.sites) if self.sites else "all sites"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("tech", "tech-demo-2026", "Tara Nguyen", Role.TECHNICIAN, ("CENTRAL",)),
    DemoUser("retailtech", "retail-demo-2026", "Ravi Patel", Role.TECHNICIAN, ("RETAIL",)),
    DemoUser(
        "pharmacist",
        "pharm-demo-2026",
        "Dr. Paula Okafor",
        Role.PHARMACIST,
        ("CENTRAL", "SATELLITE"),
    ),
    DemoUser("buyer", "buyer-demo-2026", "Ben Alvarez", Role.BUYER, ("CENTRAL", "RETAIL")),
    DemoUser("manager", "manager-demo-2026", "Maria Rossi", Role.MANAGER, ("RETAIL",)),
    DemoUser("auditor", "auditor-demo-2026", "Ada Lindqvist", Role.AUDITOR, ()),
    DemoUser("admin", "admin-demo-2026", "Sam Admin", Role.ADMIN, ()),
)


def create_demo_users(rt: Runtime, organization_id: int) -> tuple[DemoUser, ...]:
    """Create the demo users through the identity service, as the console operator."""
    operator = Actor.system(organization_id, "demo")
    sites = {s.code: s.id for s in catalog.list_sites(rt, operator)}
    for user in DEMO_USERS:
        grants = [Grant(user.role, sites[code]) for code in user.sites if code in sites]
        if not user.sites:
            grants = [Grant(user.role, None)]
        identity.create_user(
            rt,
            operator,
            username=user.username,
            full_name=user.full_name,
            password=user.password,
            grants=grants,
        )
    return DEMO_USERS
