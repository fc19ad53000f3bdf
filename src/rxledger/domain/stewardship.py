"""Item-master stewardship rules: how a GTIN unknown at the receiving dock joins the item master.

A user who manages items links the GTIN to an existing item as one of its package levels; a
technician may instead propose a new item, which a pharmacist (another user than the proposer)
approves or rejects. A GTIN names one package of one item, never two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rxledger.domain import errors
from rxledger.domain.identifiers import Ndc, normalize_gtin
from rxledger.domain.model import Package

# What an item proposal's row in ``approvals`` is about, and what it asks for.
PROPOSAL_SUBJECT = "item_proposal"
APPROVE_ITEM = "approve_item"
DEFAULT_LEVEL = "package"


class ProposalStatus(StrEnum):
    """An item proposal's status is its approval's status (never stored on the proposal)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class ProposedItem:
    """What a technician knows of a new product from its package: enough to create the item."""

    site_id: int
    name: str
    base_unit: str
    gtin: str
    package_units: int
    strength: str = ""
    dosage_form: str = ""
    generic_name: str = ""
    route: str = ""
    ndc10: str | None = None
    sku: str | None = None
    package_level: str | None = None
    cannabis_category: str | None = None
    note: str | None = None
    session_id: int | None = None  # the receiving session where the GTIN was scanned


def check_proposal(p: ProposedItem) -> ProposedItem:
    """A proposal names the product, its base unit, and one package (a valid GTIN and a positive
    number of base units); the NDC, when given, is a valid NDC. Returns it normalized."""
    name, unit = p.name.strip(), p.base_unit.strip()
    if not name or not unit:
        raise errors.ValidationFailed("a proposed item needs a name and a base unit")
    units = require_package_units(p.package_units)
    ndc = Ndc.parse(p.ndc10).ndc10 if p.ndc10 and p.ndc10.strip() else None
    sku = (p.sku or "").strip() or default_sku(normalize_gtin(p.gtin), ndc)
    return ProposedItem(
        p.site_id,
        name,
        unit,
        normalize_gtin(p.gtin),
        units,
        p.strength.strip(),
        p.dosage_form.strip(),
        p.generic_name.strip(),
        p.route.strip(),
        ndc,
        sku,
        (p.package_level or "").strip() or None,
        (p.cannabis_category or "").strip() or None,
        (p.note or "").strip() or None,
        p.session_id,
    )


def default_sku(gtin: str, ndc10: str | None) -> str:
    """A proposed item without a SKU is filed under its 11-digit NDC, else under its GTIN."""
    return Ndc.parse(ndc10).ndc11 if ndc10 else f"GTIN-{gtin}"


def require_package_units(units: int) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= 10**9:
        raise errors.InvalidQuantity(
            "a package holds a positive whole number of base units", base_units=units
        )
    return units


def check_checker(checker: str, maker: str, what: str) -> None:
    """Maker-checker: whoever asked for something (a proposal, a lab result) may not decide it;
    user names are compared ignoring case."""
    if checker.casefold() == maker.casefold():
        raise errors.SelfApproval(
            f"{checker} {what} and may not decide on it; another user must", username=checker
        )


@dataclass(frozen=True, slots=True)
class PackagePlacement:
    """Where a linked GTIN goes: onto an existing level (``fill``) or as a new level."""

    level: str
    fill: bool


def place_gtin(packages: Iterable[Package], base_units: int, level: str | None) -> PackagePlacement:
    """A linked GTIN fills the item's level of that size that has no GTIN yet; otherwise it is a
    new level, named by the caller or ``package``, ``package-2``, … (a level name is unique)."""
    existing = list(packages)
    names = {p.level for p in existing}
    if level is not None:
        wanted = level.strip()
        if not wanted or len(wanted) > 20:
            raise errors.ValidationFailed("a package level is 1 to 20 characters", level=level)
        for p in existing:
            if p.level == wanted and p.base_units == base_units and p.gtin is None:
                return PackagePlacement(wanted, fill=True)
        if wanted in names:
            raise errors.DuplicateCode(
                f"the item already has a {wanted!r} level; name another", level=wanted
            )
        return PackagePlacement(wanted, fill=False)
    for p in existing:
        if p.base_units == base_units and p.gtin is None:
            return PackagePlacement(p.level, fill=True)
    candidates = (DEFAULT_LEVEL, *(f"{DEFAULT_LEVEL}-{n}" for n in range(2, 100)))
    return PackagePlacement(next(c for c in candidates if c not in names), fill=False)
