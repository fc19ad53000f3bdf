"""The authorization matrix of the REST API: every endpoint against every role granted at CENTRAL,
an organization-wide auditor and admin, a technician of the other site (RETAIL), and nobody.

Who may do what is written out by hand below from the rules of ``rxledger.domain.permissions``
(deliberately not computed from that module); the table of endpoints declares what each one needs.
Every case checks the status and code, and that a refused request changed nothing at all. A new
endpoint without a row fails ``test_the_matrix_covers_every_api_endpoint``.

SQLite only, for speed: the world is built once per module and every case runs on a copy of it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest

from rxledger.adapters.database import create_db_engine
from rxledger.domain.clock import ManualClock
from rxledger.domain.model import Item
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.domain.stewardship import ProposedItem
from rxledger.entrypoints.api.app import create_app
from rxledger.services import (
    approvals,
    catalog,
    counts,
    identity,
    purchasing,
    receiving,
    stewardship,
    stock,
)
from rxledger.services.posting import Header
from rxledger.services.runtime import LedgerPolicy, Runtime
from tests.builders import Network
from tests.conftest import NOW, SHARED_DATA
from tests.e2e.api_support import (
    API,
    PASSWORD,
    PERSONAS,
    ApiClient,
    ApiUser,
    api_routes,
    build_api_world,
    enroll,
    error,
    ledger_state,
    use_fast_password_hashing,
)
from tests.quarantine_builders import (
    GTIN,
    datamatrix,
    dscsa_item,
    dscsa_shipment,
    quarantine_case,
    receive_scans,
)
from tests.stewardship_builders import (
    OTHER_GTIN,
    UNKNOWN_GTIN,
    attach,
    cannabis_item,
    gtin,
    lot_of,
    metrc_tag,
    open_session_with_unknown,
    receive_packages,
)

ANONYMOUS = "anonymous"
PROPOSED_GTIN = gtin("0950600013437")

# --- who may do what, by hand from the rules ----------------------------------------------------

COUNT_GTIN = gtin("0030000000123")  # a scannable item of the counting scenario
TECH = frozenset({"view", "receive", "move", "transfer", "dispense"})
CLINICAL = TECH | {"adjust", "reverse", "manage_items", "investigate"}
PURCHASING = frozenset({"order", "approve_orders", "manage_suppliers"})
EVERYTHING = CLINICAL | {"manage_users", "manage_sites"} | PURCHASING | {"approve_items"}

# At CENTRAL: a technician moves stock; pharmacists and managers also adjust, reverse, manage
# items, order and approve orders; a buyer views, receives, manages items and suppliers and orders;
# a manager also manages suppliers; an auditor views; an admin does everything.
AT_CENTRAL: Mapping[str, frozenset[str]] = {
    "technician": TECH,
    "pharmacist": CLINICAL | {"order", "approve_orders", "approve_items"},
    "buyer": frozenset({"view", "receive", "manage_items", "order", "manage_suppliers"}),
    "manager": CLINICAL | PURCHASING,
    "auditor": frozenset({"view"}),
    "admin": EVERYTHING,
    "retail_technician": frozenset(),
    "org_admin": EVERYTHING,
}
# At some site: what organization-wide things (item master, lots, users) need.
SOMEWHERE: Mapping[str, frozenset[str]] = {**AT_CENTRAL, "retail_technician": TECH}
# At RETAIL, where only its technician and the organization-wide roles are granted.
AT_RETAIL: Mapping[str, frozenset[str]] = {
    **{p: frozenset[str]() for p in PERSONAS},
    "retail_technician": TECH,
    "auditor": frozenset({"view"}),
    "org_admin": EVERYTHING,
}
# Through an organization-wide grant: what touching people beyond one's own sites needs.
ORG_WIDE: Mapping[str, frozenset[str]] = {
    **{p: frozenset[str]() for p in PERSONAS},
    "auditor": frozenset({"view"}),
    "org_admin": EVERYTHING,
}


class Scope(Enum):
    PUBLIC = "no token needed"
    SIGNED_IN = "any valid token"
    CENTRAL = "the permission at CENTRAL"
    RETAIL = "the permission at RETAIL"
    SOMEWHERE = "the permission at some site"
    ORG_WIDE = "the permission through an organization-wide grant"


@dataclass(frozen=True)
class Refusal:
    """What a refused caller gets: an error status and code, or a 200 that hides CENTRAL."""

    status: int
    code: str | None


FORBIDDEN = Refusal(403, "FORBIDDEN")
HIDDEN = Refusal(200, None)


def not_found(code: str) -> Refusal:
    return Refusal(404, code)


# --- the world every case starts from -----------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Ids of the stock and people every case starts from (the same in every copy)."""

    organization: int
    central: int
    retail: int
    storage: int
    shelf: int
    retail_storage: int
    central_locations: frozenset[int]
    item: int
    gauze: int
    lot: int
    receipt: int
    dispense: int
    reversible: int
    shipment: int
    subject: int
    subject_token: int
    purchasing: Mapping[str, int]  # supplier, offer, draft, pending, order, order_line
    quarantine: Mapping[str, int]  # discrepancy, investigation, inbound (a DSCSA shipment)
    receiving: Mapping[str, int]  # awaiting (a shipment), session_open, session_line, ...
    stewardship: Mapping[str, int]  # unknown_session, proposal, cannabis_lot, certificate
    counting: Mapping[str, int]  # count_open, count_line, recount_line, investigating, approving
    # held_approval: an adjustment held for approval; policy: an organization-wide order policy
    approvals: Mapping[str, int]
    users: Mapping[str, ApiUser]
    spare_tokens: Mapping[str, int]

    def ids(self, persona: str) -> dict[str, int]:
        return {
            "central": self.central,
            "retail": self.retail,
            "storage": self.storage,
            "shelf": self.shelf,
            "item": self.item,
            "lot": self.lot,
            "receipt": self.receipt,
            "dispense": self.dispense,
            "reversible": self.reversible,
            "shipment": self.shipment,
            "subject": self.subject,
            "subject_token": self.subject_token,
            "org_admin": self.users["org_admin"].user_id,
            "retail_user": self.users["retail_technician"].user_id,
            "own_token": self.spare_tokens.get(persona, self.subject_token),
            **self.purchasing,
            **self.quarantine,
            **self.receiving,
            **self.stewardship,
            **self.counting,
            **self.approvals,
        }


def build_scenario(rt: Runtime) -> Scenario:
    """CENTRAL holds stock, has a receipt, a dispense and a reversible receipt; RETAIL has shipped
    to CENTRAL what is still in transit; a CENTRAL technician is the subject of user changes."""
    world = build_api_world(rt)
    net = world.net
    central, retail = net.central, net.retail
    item = net.item("Amoxicillin 500 mg capsule")
    gauze = net.item("Gauze pad 4x4 sterile", expiry_tracked=False)
    receipt = net.receive(item, 100, "L1", date(2027, 12, 31))
    dispense = net.dispense(item, 5)
    reversible = net.receive(item, 10, "L2", date(2028, 6, 30), location=central.shelf)
    net.receive(item, 50, "L1", date(2027, 12, 31), site=retail)
    shipment = stock.ship_transfer(
        rt,
        net.actor,
        stock.ShipTransfer(
            retail.id, retail.storage.id, central.id, [stock.StockLine(item.id, 20)], Header()
        ),
    )
    subject = enroll(net, "subject", Grant(Role.TECHNICIAN, central.id))
    spare = {p: _spare_token(net, u) for p, u in world.users.items()}
    auditing_admin = enroll(
        net, "auditing_admin", Grant(Role.AUDITOR, None), Grant(Role.ADMIN, central.id)
    )
    return Scenario(
        organization=net.actor.organization_id,
        central=central.id,
        retail=retail.id,
        storage=central.storage.id,
        shelf=central.shelf.id,
        retail_storage=retail.storage.id,
        central_locations=frozenset(
            x.id
            for x in (
                central.receiving,
                central.storage,
                central.shelf,
                central.vault,
                central.fridge,
                central.quarantine,
                central.cabinet,
            )
        ),
        item=item.id,
        gauze=gauze.id,
        lot=receipt.movements[0].lot_id,
        receipt=receipt.id,
        dispense=dispense.id,
        reversible=reversible.id,
        shipment=shipment.id,
        subject=subject.user_id,
        subject_token=subject.token_id,
        purchasing=_purchasing(net, gauze),
        quarantine=_quarantine(net),
        receiving=_receiving(net),  # after _quarantine: its DSCSA item
        stewardship=_stewardship(net, item),
        counting=_counting(net),
        approvals=_approvals(net),
        users={**world.users, "auditing_admin": auditing_admin},
        spare_tokens=spare,
    )


def _purchasing(net: Network, item: Item) -> dict[str, int]:
    """A supplier of the item at 12.50 per 100; at CENTRAL a draft, a requisition waiting for
    approval (above the threshold, requested by the network's operator) and an open PO."""
    rt, actor, central = net.rt, net.actor, net.central.id
    supplier = purchasing.create_supplier(rt, actor, purchasing.NewSupplier("GLDW", "Great Lakes"))
    offer = purchasing.add_supplier_item(
        rt, actor, supplier.id, purchasing.NewSupplierItem(item.id, 100, Decimal("12.50"))
    )

    def requisition(packs: int) -> int:
        line = purchasing.RequisitionLineSpec(offer.id, packs)
        spec = purchasing.NewRequisition(central, supplier.id, [line])
        return purchasing.create_requisition(rt, actor, spec).id

    draft, pending, ordered = requisition(1), requisition(100), requisition(2)
    purchasing.submit_requisition(rt, actor, pending)
    order_id = purchasing.submit_requisition(rt, actor, ordered).purchase_order_id
    assert order_id is not None
    order = purchasing.get_purchase_order(rt, actor, order_id)
    return {
        "supplier": supplier.id,
        "offer": offer.id,
        "draft": draft,
        "pending": pending,
        "order": order.id,
        "order_line": order.lines[0].id,
    }


def _quarantine(net: Network) -> dict[str, int]:
    """At CENTRAL, a receipt against DSCSA shipment data that left an expired bottle and a
    foreign one (FAKE1, under investigation) in quarantine."""
    dscsa_item(net)
    case = quarantine_case(net)
    inbound = receiving.get_session(net.rt, net.actor, case.session_id).shipment_id
    assert inbound is not None
    return {
        "discrepancy": case.expired_discrepancy_id,
        "investigation": case.investigation_id,
        "inbound": inbound,
    }


def _receiving(net: Network) -> dict[str, int]:
    """At CENTRAL: a DSCSA shipment awaiting receipt; an open session against another one with a
    bottle scanned and a line of two bottles to count; a posted session whose accepted bottle
    waits on the dock to be put away."""
    rt, actor, central = net.rt, net.actor, net.central.id
    awaiting = dscsa_shipment(net, "d")
    session = receiving.open_session(rt, actor, central, shipment_id=dscsa_shipment(net, "e"))
    receiving.scan(rt, actor, session.id, datamatrix("S10"))
    counted = receiving.scan(rt, actor, session.id, f"(01){GTIN}(17)280131(10)A1", packages=2)
    posted = receive_scans(net, datamatrix("S11"), shipment=dscsa_shipment(net, "f"))
    return {
        "awaiting": awaiting,
        "session_open": session.id,
        "session_line": counted.lines[0].id,
        "session_posted": posted,
    }


def _counting(net: Network) -> dict[str, int]:
    """At CENTRAL, counts of a scannable item (GTIN COUNT_GTIN, lot C1, 100 in storage): one open
    with its line counted; one whose line waits for its recount to be submitted; one line under
    investigation; one waiting for approval. Counted by counter1 and counter2, investigated by
    investigator1: none of the personas."""
    rt, central = net.rt, net.central
    item = net.item(
        "Loratadine 10 mg tablet",
        packages=(catalog.PackageSpec("unit", 1, gtin=COUNT_GTIN),),
    )
    net.receive(item, 100, "C1")
    planner = Actor(net.actor.organization_id, "planner1", None, (Grant(Role.ADMIN, central.id),))
    first = Actor(net.actor.organization_id, "counter1", None, (Grant(Role.ADMIN, central.id),))
    second = Actor(net.actor.organization_id, "counter2", None, (Grant(Role.ADMIN, central.id),))
    looker = Actor(
        net.actor.organization_id, "investigator1", None, (Grant(Role.ADMIN, central.id),)
    )

    def planned(counted: int) -> tuple[int, int]:
        spec = counts.NewCount(central.id, "Loratadine", item_ids=[item.id])
        view = counts.create_count(rt, planner, spec)
        line = view.lines[0].id
        counts.set_tally(rt, first, line, counted)
        return view.id, line

    open_count, open_line = planned(100)
    _, recount = planned(80)
    _, investigating = planned(80)
    _, approving = planned(80)
    for line in (recount, investigating, approving):
        counts.submit(rt, first, counts.get_count(rt, first, _count_of(rt, first, line)).id)
        counts.set_tally(rt, second, line, 80)
    for line in (investigating, approving):
        counts.submit_recount(rt, second, line)
    counts.investigate(rt, looker, approving, findings="a broken blister", reason_code="DAMAGED")
    # a tolerance the organization keeps (for risk counts of class B items)
    keeper = Actor(net.actor.organization_id, "keeper1")  # an administrator of every site
    counts.set_tolerance(rt, keeper, "risk", "B", 1, Decimal(1))
    return {
        "count_open": open_count,
        "count_line": open_line,
        "recount_line": recount,
        "investigating_line": investigating,
        "approving_line": approving,
    }


def _approvals(net: Network) -> dict[str, int]:
    """An organization-wide policy (adjustments worth 250.00 or more, approved by a pharmacist,
    a manager or an administrator at the site) and, at CENTRAL, an adjustment worth 300.00 held
    under it, requested by the network's operator (none of the personas)."""
    rt, actor, central = net.rt, net.actor, net.central
    approvals.create_policy(
        rt,
        actor,
        action="adjustment",
        approver_roles="pharmacist,manager,admin",
        min_value=Decimal(250),
    )
    pens = net.item("Insulin glargine pen", standard_cost=Decimal(10))
    lot = net.receive(pens, 100, "P1").movements[0].lot_id
    line = stock.AdjustLine(pens.id, central.storage.id, lot, "DAMAGED", -30)
    outcome = approvals.request_adjustment(rt, actor, stock.Adjust(central.id, [line]))
    assert outcome.approval_id is not None
    kept = approvals.create_policy(
        rt, actor, action="order", approver_roles="manager", min_value=Decimal(5000)
    )
    assert kept.id is not None
    return {"held_approval": outcome.approval_id, "policy": kept.id}


def _count_of(rt: Runtime, actor: Actor, line_id: int) -> int:
    return next(
        c.id
        for c in counts.list_counts(rt, actor)
        if any(x.id == line_id for x in counts.get_count(rt, actor, c.id).lines)
    )


def _stewardship(net: Network, item: Item) -> dict[str, int]:
    """At CENTRAL: an open session whose unknown GTIN has since been linked to the item (to be
    judged again), a pending item proposal, and a held cannabis lot with a pending certificate,
    all made by the network's operator (so every persona may check them)."""
    rt, actor = net.rt, net.actor
    session = open_session_with_unknown(net)
    stewardship.link_gtin(rt, actor, item.id, UNKNOWN_GTIN, 30)
    proposal = ProposedItem(net.central.id, "Cetirizine 10 mg tablet", "tablet", PROPOSED_GTIN, 30)
    cannabis = cannabis_item(net)
    receive_packages(net, cannabis, [metrc_tag(1)])
    certificate = attach(net, actor, lot_of(net, cannabis))
    return {
        "unknown_session": session,
        "proposal": stewardship.propose_item(rt, actor, proposal).id,
        "cannabis_lot": certificate.lot_id,
        "cannabis_item": cannabis.id,
        "certificate": certificate.id,
    }


def _spare_token(net: Network, user: ApiUser) -> int:
    actor = identity.user_actor(net.rt, net.actor.organization_id, user.username)
    return identity.create_token(net.rt, actor, "spare")[1].id


EPCIS_EXAMPLE = SHARED_DATA / "epcis" / "examples" / "Example_9.6.1-ObjectEvent.jsonld"

# --- the endpoints ------------------------------------------------------------------------------

Body = Callable[[Scenario], dict[str, Any]]
Reveals = Callable[[Scenario, Any], bool]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /api/v1, with {placeholders} from Scenario.ids
    scope: Scope
    permission: str = "view"
    body: Body | None = None
    ok: int = 200
    refusal: Refusal = FORBIDDEN
    reveals_central: Reveals | None = None  # for HIDDEN: does the answer show CENTRAL?
    bugs: Mapping[str, str] = field(default_factory=dict)  # persona -> known-bug reason
    writes: bool = True  # a POST that only reads (parsing a scan) changes nothing

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def permits(self, persona: str) -> bool:
        if self.scope is Scope.PUBLIC:
            return True
        if persona == ANONYMOUS:
            return False
        table = {
            Scope.SIGNED_IN: SOMEWHERE,
            Scope.CENTRAL: AT_CENTRAL,
            Scope.RETAIL: AT_RETAIL,
            Scope.SOMEWHERE: SOMEWHERE,
            Scope.ORG_WIDE: ORG_WIDE,
        }[self.scope]
        return self.scope is Scope.SIGNED_IN or self.permission in table[persona]

    def url(self, s: Scenario, persona: str) -> str:
        return self.path.format(**s.ids(persona))


def _any_site(key: str) -> Reveals:
    return lambda s, body: any(x[key] == s.central for x in body["items"])


def _empty(s: Scenario) -> dict[str, Any]:
    return {}


def _listed_at_central(s: Scenario, body: Any) -> bool:
    return any(x["site_id"] == s.central for x in body)


def _any_row(s: Scenario, body: Any) -> bool:
    return bool(body["items"])


def _touches_central(s: Scenario, body: Any) -> bool:
    return any(
        {h["from_location_id"], h["to_location_id"]} & s.central_locations for h in body["items"]
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    # the schema and its documentation are public
    Endpoint("GET", "/openapi.json", Scope.PUBLIC),
    Endpoint("GET", "/docs", Scope.PUBLIC),
    # sites and locations: visible per site
    Endpoint("GET", "/sites", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("id")),
    Endpoint("GET", "/sites/{central}", Scope.CENTRAL),
    Endpoint(
        "GET", "/locations", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint("GET", "/locations?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/locations/{storage}", Scope.CENTRAL, refusal=not_found("LOCATION_NOT_FOUND")),
    # the item master and lots are shared by the organization
    Endpoint("GET", "/items?q=gauze", Scope.SOMEWHERE),
    Endpoint("GET", "/items/{item}", Scope.SOMEWHERE),
    Endpoint(
        "POST",
        "/items",
        Scope.SOMEWHERE,
        "manage_items",
        body=lambda s: {"sku": "NEW-1", "name": "Ibuprofen 200 mg tablet", "base_unit": "tablet"},
        ok=201,
    ),
    Endpoint("GET", "/items/{item}/lots", Scope.SOMEWHERE),
    # anyone signed in may read a barcode against the item master
    Endpoint(
        "POST",
        "/scans/parse",
        Scope.SIGNED_IN,
        body=lambda s: {"data": "]d2010030001012345517271200\x1d10A-1/2"},
        writes=False,
    ),
    # importing shipment data stores a file for a site: receive permission there
    Endpoint(
        "POST",
        "/imports?format=epcis&site_id={central}",
        Scope.CENTRAL,
        "receive",
        body=lambda s: json.loads(EPCIS_EXAMPLE.read_text(encoding="utf-8")),
        ok=201,
    ),
    Endpoint("GET", "/lots/{lot}", Scope.SOMEWHERE),
    Endpoint(
        "PUT",
        "/lots/{lot}/status",
        Scope.SOMEWHERE,
        "manage_items",
        body=lambda s: {"status": "quarantined"},
    ),
    Endpoint(
        "GET",
        "/items/{item}/history",
        Scope.CENTRAL,
        refusal=HIDDEN,
        reveals_central=_touches_central,
    ),
    Endpoint("GET", "/items/{item}/history?site_id={central}", Scope.CENTRAL),
    # postings at CENTRAL
    Endpoint(
        "POST",
        "/documents/receipts",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {
            "site_id": s.central,
            "location_id": s.storage,
            "lines": [{"item_id": s.gauze, "quantity": 10, "lot_number": "G-2"}],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/moves",
        Scope.CENTRAL,
        "move",
        body=lambda s: {
            "site_id": s.central,
            "from_location_id": s.storage,
            "to_location_id": s.shelf,
            "lines": [{"item_id": s.item, "quantity": 5}],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/transfers",
        Scope.CENTRAL,
        "transfer",
        body=lambda s: {
            "site_id": s.central,
            "from_location_id": s.storage,
            "to_site_id": s.retail,
            "lines": [{"item_id": s.item, "quantity": 5}],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/{shipment}/transfer-receipts",
        Scope.CENTRAL,
        "transfer",
        body=lambda s: {"location_id": s.storage, "lines": []},
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/dispenses",
        Scope.CENTRAL,
        "dispense",
        body=lambda s: {
            "site_id": s.central,
            "location_id": s.storage,
            "reference": "RX-1",
            "lines": [{"item_id": s.item, "quantity": 3}],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/{dispense}/returns",
        Scope.CENTRAL,
        "dispense",
        body=lambda s: {"location_id": s.storage, "lines": []},
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/adjustments",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {
            "site_id": s.central,
            "lines": [
                {
                    "item_id": s.item,
                    "location_id": s.storage,
                    "lot_id": s.lot,
                    "reason_code": "DAMAGED",
                    "delta": -1,
                }
            ],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/{reversible}/reversal",
        Scope.CENTRAL,
        "reverse",
        body=lambda s: {"reference": "entered twice"},
        ok=201,
    ),
    # and at RETAIL, which CENTRAL's people neither see nor touch
    Endpoint("GET", "/sites/{retail}", Scope.RETAIL),
    Endpoint("GET", "/documents?site_id={retail}", Scope.RETAIL),
    Endpoint("GET", "/balances?site_id={retail}", Scope.RETAIL),
    Endpoint(
        "POST",
        "/documents/receipts",
        Scope.RETAIL,
        "receive",
        body=lambda s: {
            "site_id": s.retail,
            "location_id": s.retail_storage,
            "lines": [{"item_id": s.gauze, "quantity": 10, "lot_number": "G-3"}],
        },
        ok=201,
    ),
    Endpoint(
        "POST",
        "/documents/dispenses",
        Scope.RETAIL,
        "dispense",
        body=lambda s: {
            "site_id": s.retail,
            "location_id": s.retail_storage,
            "lines": [{"item_id": s.item, "quantity": 3}],
        },
        ok=201,
    ),
    # reading the ledger
    Endpoint(
        "GET", "/documents", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint("GET", "/documents?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/documents/{receipt}", Scope.CENTRAL),
    Endpoint(
        "GET", "/balances", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint("GET", "/balances?site_id={central}", Scope.CENTRAL),
    Endpoint(
        "GET",
        "/balances?location_id={storage}",
        Scope.CENTRAL,
        refusal=HIDDEN,
        reveals_central=_any_row,
    ),
    # purchasing: suppliers are the organization's, requisitions and orders CENTRAL's
    Endpoint("GET", "/suppliers", Scope.SOMEWHERE),
    Endpoint(
        "POST",
        "/suppliers",
        Scope.SOMEWHERE,
        "manage_suppliers",
        body=lambda s: {"code": "NEW", "name": "New Supplier", "gln": "0614141000012"},
        ok=201,
    ),
    Endpoint("GET", "/suppliers/{supplier}", Scope.SOMEWHERE),
    Endpoint(
        "POST",
        "/suppliers/{supplier}/items",
        Scope.SOMEWHERE,
        "manage_suppliers",
        body=lambda s: {"item_id": s.item, "pack_units": 30, "pack_price": "4.10"},
        ok=201,
    ),
    Endpoint(
        "GET", "/requisitions", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint("GET", "/requisitions?site_id={central}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/requisitions",
        Scope.CENTRAL,
        "order",
        body=lambda s: {
            "site_id": s.central,
            "supplier_id": s.purchasing["supplier"],
            "lines": [{"supplier_item_id": s.purchasing["offer"], "packs": 3}],
        },
        ok=201,
    ),
    Endpoint("GET", "/requisitions/{pending}", Scope.CENTRAL),
    Endpoint("POST", "/requisitions/{draft}/submit", Scope.CENTRAL, "order"),
    Endpoint(
        "POST", "/requisitions/{pending}/approve", Scope.CENTRAL, "approve_orders", body=_empty
    ),
    Endpoint(
        "POST",
        "/requisitions/{pending}/reject",
        Scope.CENTRAL,
        "approve_orders",
        body=lambda s: {"note": "not this week"},
    ),
    Endpoint("POST", "/requisitions/{pending}/cancel", Scope.CENTRAL, "order"),
    Endpoint(
        "GET", "/approvals", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint(
        "GET",
        "/purchase-orders",
        Scope.CENTRAL,
        refusal=HIDDEN,
        reveals_central=_any_site("site_id"),
    ),
    Endpoint("GET", "/purchase-orders/{order}", Scope.CENTRAL),
    # approvals: the inbox shows what one may decide; the scenario's policy lets pharmacists,
    # managers and administrators at CENTRAL (so: who may adjust there) decide its held
    # adjustment; policies are read by anyone and kept by administrators of every site
    Endpoint(
        "GET",
        "/approvals/inbox",
        Scope.CENTRAL,
        "adjust",
        refusal=HIDDEN,
        reveals_central=_listed_at_central,
    ),
    Endpoint("POST", "/approvals/{held_approval}/approve", Scope.CENTRAL, "adjust", body=_empty),
    Endpoint(
        "POST",
        "/approvals/{held_approval}/reject",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {"note": "count it again"},
    ),
    Endpoint("GET", "/approval-policies", Scope.SIGNED_IN),
    Endpoint(
        "POST",
        "/approval-policies",
        Scope.ORG_WIDE,
        "manage_sites",
        body=lambda s: {"action": "adjustment", "approver_roles": "pharmacist", "min_value": "500"},
        ok=201,
    ),
    Endpoint(
        "PATCH",
        "/approval-policies/{policy}",
        Scope.ORG_WIDE,
        "manage_sites",
        body=lambda s: {"min_value": "6000"},
    ),
    Endpoint(
        "POST",
        "/purchase-orders/{order}/receipts",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {
            "location_id": s.storage,
            "lines": [
                {
                    "line_id": s.purchasing["order_line"],
                    "quantity": 50,
                    "lot_number": "P-1",
                    "expiry": "2028-01-31",
                }
            ],
        },
        ok=201,
    ),
    Endpoint("POST", "/purchase-orders/{order}/close", Scope.CENTRAL, "order", body=_empty),
    Endpoint("POST", "/purchase-orders/{order}/cancel", Scope.CENTRAL, "order", body=_empty),
    Endpoint(
        "GET", "/on-order", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_any_site("site_id")
    ),
    Endpoint("GET", "/on-order?site_id={central}", Scope.CENTRAL),
    # counts: planning needs adjust; counting, move; investigating, investigate; approving, adjust
    Endpoint("GET", "/counts", Scope.SIGNED_IN),
    Endpoint("GET", "/counts?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/counts/accuracy", Scope.SIGNED_IN),
    Endpoint(
        "POST",
        "/counts",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {"site_id": s.central, "title": "Shelf A"},
        ok=201,
    ),
    Endpoint(
        "POST",
        "/counts/daily",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {"site_id": s.central, "counters": ["tech-a", "tech-b"]},
        ok=201,
    ),
    Endpoint("GET", "/counts/{count_open}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/counts/{count_open}/scan",
        Scope.CENTRAL,
        "move",
        body=lambda s: {"code": f"(01){COUNT_GTIN}(17)281231(10)C1"},
    ),
    Endpoint(
        "POST",
        "/count-lines/{count_line}/tally",
        Scope.CENTRAL,
        "move",
        body=lambda s: {"quantity": 99},
    ),
    Endpoint("POST", "/counts/{count_open}/submit", Scope.CENTRAL, "move"),
    Endpoint("POST", "/counts/{count_open}/cancel", Scope.CENTRAL, "adjust"),
    Endpoint("POST", "/count-lines/{recount_line}/recount", Scope.CENTRAL, "move"),
    Endpoint("GET", "/count-lines/{count_line}/investigation", Scope.CENTRAL, "investigate"),
    Endpoint(
        "POST",
        "/count-lines/{investigating_line}/investigate",
        Scope.CENTRAL,
        "investigate",
        body=lambda s: {"findings": "found behind the shelf", "reason_code": "DAMAGED"},
    ),
    Endpoint("POST", "/count-lines/{approving_line}/approve", Scope.CENTRAL, "adjust", body=_empty),
    # count tolerances: read by anyone, kept by administrators of every site
    Endpoint("GET", "/count-tolerances", Scope.SIGNED_IN),
    Endpoint(
        "PUT",
        "/count-tolerances/manual/C",
        Scope.ORG_WIDE,
        "manage_sites",
        body=lambda s: {"units": 10, "value": "5.00"},
    ),
    Endpoint("DELETE", "/count-tolerances/risk/B", Scope.ORG_WIDE, "manage_sites"),
    # replenishment: reads of the sites one may view; accepting needs the right to order
    Endpoint("GET", "/replenishment/suggestions", Scope.SIGNED_IN),
    Endpoint("GET", "/replenishment/suggestions?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/replenishment/suggestions.csv?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/replenishment/classes?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/items/{item}/forecast?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/replenishment/stock-health", Scope.SIGNED_IN),
    Endpoint("GET", "/replenishment/stock-health?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/kpis?by=site&by=abc", Scope.SIGNED_IN),
    Endpoint("GET", "/kpis?site_id={central}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/replenishment/accept",
        Scope.CENTRAL,
        "order",
        body=lambda s: {
            "site_id": s.central,
            "supplier_id": s.purchasing["supplier"],
            "lines": [{"supplier_item_id": s.purchasing["offer"], "packs": 2}],
        },
        ok=201,
    ),
    # people
    Endpoint("GET", "/me", Scope.SIGNED_IN),
    Endpoint("GET", "/users", Scope.SOMEWHERE, "manage_users"),
    Endpoint(
        "POST",
        "/users",
        Scope.CENTRAL,
        "manage_users",
        body=lambda s: {
            "username": "newcomer",
            "password": PASSWORD,
            "grants": [{"role": "technician", "site_id": s.central}],
        },
        ok=201,
    ),
    Endpoint("GET", "/users/{subject}", Scope.SOMEWHERE, "manage_users"),
    Endpoint(
        "PATCH",
        "/users/{subject}",
        Scope.CENTRAL,
        "manage_users",
        body=lambda s: {"active": False},
    ),
    Endpoint(
        "PATCH",
        "/users/{retail_user}",
        Scope.ORG_WIDE,
        "manage_users",
        body=lambda s: {"active": False},
    ),
    Endpoint(
        "PATCH",
        "/users/{org_admin}",
        Scope.ORG_WIDE,
        "manage_users",
        body=lambda s: {"password": "a brand new passphrase"},
    ),
    Endpoint(
        "POST",
        "/users/{subject}/grants",
        Scope.CENTRAL,
        "manage_users",
        body=lambda s: {"role": "pharmacist", "site_id": s.central},
    ),
    Endpoint(
        "POST",
        "/users/{subject}/grants/revoke",
        Scope.CENTRAL,
        "manage_users",
        body=lambda s: {"role": "technician", "site_id": s.central},
    ),
    # tokens: one's own, and user managers revoke anyone's
    Endpoint("GET", "/tokens", Scope.SIGNED_IN),
    Endpoint("POST", "/tokens", Scope.SIGNED_IN, body=lambda s: {"name": "laptop"}, ok=201),
    Endpoint("DELETE", "/tokens/{own_token}", Scope.SIGNED_IN, ok=204),
    Endpoint(
        "DELETE",
        "/tokens/{subject_token}",
        Scope.SOMEWHERE,
        "manage_users",
        ok=204,
        refusal=not_found("NOT_FOUND"),
    ),
    Endpoint(
        "POST",
        "/documents/destructions",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {
            "site_id": s.central,
            "from_location_id": s.storage,
            "reason_code": "DAMAGED",
            "lines": [{"item_id": s.item, "quantity": 2}],
        },
        ok=201,
    ),
    # quarantine and DSCSA investigations at CENTRAL: read by viewers, decided by investigators
    Endpoint(
        "GET", "/discrepancies", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_listed_at_central
    ),
    Endpoint("GET", "/discrepancies?site_id={central}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/discrepancies/{discrepancy}/resolution",
        Scope.CENTRAL,
        "investigate",
        body=lambda s: {"outcome": "destroy", "note": "expired on arrival"},
    ),
    Endpoint(
        "GET", "/investigations", Scope.CENTRAL, refusal=HIDDEN, reveals_central=_listed_at_central
    ),
    Endpoint("GET", "/investigations/{investigation}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/investigations/{investigation}/notes",
        Scope.CENTRAL,
        "investigate",
        body=lambda s: {"note": "asked the manufacturer"},
        ok=201,
    ),
    Endpoint(
        "POST",
        "/investigations/{investigation}/close",
        Scope.CENTRAL,
        "investigate",
        body=lambda s: {
            "outcome": "illegitimate",
            "notification_reference": "FDA-3911-1",
            "notified_at": NOW.isoformat(),
        },
    ),
    # traceability: a product identifier seen only at CENTRAL, and a shipment addressed to it
    Endpoint(
        "GET",
        f"/products/{GTIN}/FAKE1/transaction-information",
        Scope.CENTRAL,
        refusal=not_found("SERIAL_NOT_FOUND"),
    ),
    Endpoint(
        "GET",
        f"/products/{GTIN}/FAKE1/trace",
        Scope.CENTRAL,
        refusal=not_found("SERIAL_NOT_FOUND"),
    ),
    Endpoint("GET", "/shipments/{inbound}", Scope.CENTRAL),
    Endpoint("GET", "/shipments/{inbound}/file", Scope.CENTRAL),
    # receiving sessions at CENTRAL: read by viewers, scanned by receivers, put away by movers
    Endpoint("GET", "/shipments?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/receiving-sessions?site_id={central}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/receiving-sessions",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {"site_id": s.central, "shipment_id": s.receiving["awaiting"]},
        ok=201,
    ),
    Endpoint("GET", "/receiving-sessions/{session_open}", Scope.CENTRAL),
    Endpoint(
        "POST",
        "/receiving-sessions/{session_open}/scans",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {"scan": datamatrix("S12")},
        ok=201,
    ),
    Endpoint(
        "PATCH",
        "/receiving-sessions/{session_open}/lines/{session_line}",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {"packages": 3},
    ),
    Endpoint("POST", "/receiving-sessions/{session_open}/close", Scope.CENTRAL, "receive", ok=201),
    Endpoint(
        "DELETE",
        "/receiving-sessions/{session_open}/lines/{session_line}",
        Scope.CENTRAL,
        "receive",
        ok=204,
    ),
    Endpoint("POST", "/receiving-sessions/{session_open}/cancel", Scope.CENTRAL, "receive"),
    Endpoint(
        "POST",
        "/receiving-sessions/{session_posted}/put-away",
        Scope.CENTRAL,
        "move",
        body=lambda s: {"location": "MAIN-A1"},
        ok=201,
    ),
    # item-master stewardship: linking needs manage_items, proposing receive at the site,
    # deciding approve_items there; judging a session again is receiving
    Endpoint(
        "POST",
        "/items/{item}/packages",
        Scope.SOMEWHERE,
        "manage_items",
        body=lambda s: {"gtin": OTHER_GTIN, "base_units": 10},
        ok=201,
    ),
    Endpoint(
        "POST",
        "/item-proposals",
        Scope.CENTRAL,
        "receive",
        body=lambda s: {
            "site_id": s.central,
            "name": "Loratadine 10 mg tablet",
            "base_unit": "tablet",
            "gtin": OTHER_GTIN,
            "package_units": 30,
        },
        ok=201,
    ),
    Endpoint(
        "GET",
        "/item-proposals",
        Scope.CENTRAL,
        refusal=HIDDEN,
        reveals_central=_any_site("site_id"),
    ),
    Endpoint("GET", "/item-proposals/{proposal}", Scope.CENTRAL),
    Endpoint(
        "POST", "/item-proposals/{proposal}/approve", Scope.CENTRAL, "approve_items", body=_empty
    ),
    Endpoint(
        "POST",
        "/item-proposals/{proposal}/reject",
        Scope.CENTRAL,
        "approve_items",
        body=lambda s: {"note": "a duplicate"},
    ),
    Endpoint("POST", "/receiving-sessions/{unknown_session}/rejudge", Scope.CENTRAL, "receive"),
    # the audit trail: each user reads the rows of their sites and of no site; sealing and
    # verifying the chain reads the whole organization (it writes only chain links)
    Endpoint(
        "GET",
        "/audit?limit=500",
        Scope.CENTRAL,
        refusal=HIDDEN,
        reveals_central=_any_site("site_id"),
    ),
    Endpoint("GET", "/audit.csv", Scope.SOMEWHERE),
    Endpoint("POST", "/audit/verify", Scope.ORG_WIDE, writes=False),
    # certificates of analysis: lots are the organization's; attaching is receiving, the lab
    # result is decided by whoever approves items
    Endpoint(
        "POST",
        "/lots/{cannabis_lot}/certificates?filename=coa.pdf",
        Scope.SOMEWHERE,
        "receive",
        body=lambda s: {"report": "THC 21.4 %"},
        ok=201,
    ),
    Endpoint("GET", "/lots/{cannabis_lot}/certificates", Scope.SOMEWHERE),
    Endpoint("GET", "/certificates/{certificate}", Scope.SOMEWHERE),
    Endpoint(
        "POST",
        "/certificates/{certificate}/result",
        Scope.SOMEWHERE,
        "approve_items",
        body=lambda s: {"result": "passed"},
    ),
    # reconciliation: importing an export is stock control (adjust at the site; it writes no
    # ledger table); a snapshot nobody has is the same 404 for everyone; sales checks only read
    Endpoint(
        "POST",
        "/reconciliation/snapshots?site_id={central}&source=metrc&filename=active.json",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {
            "Data": [{"Label": metrc_tag(1), "Quantity": 1, "UnitOfMeasureName": "Each"}]
        },
        ok=201,
        writes=False,
    ),
    Endpoint(
        "GET",
        "/reconciliation/snapshots/999999",
        Scope.CENTRAL,
        ok=404,
        refusal=not_found("NOT_FOUND"),
    ),
    Endpoint(
        "POST",
        "/reconciliation/snapshots/999999/adjust",
        Scope.CENTRAL,
        "adjust",
        body=lambda s: {"reason_code": "COUNT"},
        ok=404,
        refusal=not_found("NOT_FOUND"),
        writes=False,
    ),
    Endpoint(
        "POST",
        "/reconciliation/sales",
        Scope.CENTRAL,
        body=lambda s: {"site_id": s.central, "day": "2026-06-01", "csv": "date,sku,quantity\n"},
        writes=False,
    ),
    # controlled substances: the perpetual log of CENTRAL's cannabis item, the inventory sheet
    Endpoint("GET", "/controlled/log?site_id={central}&item_id={cannabis_item}", Scope.CENTRAL),
    Endpoint(
        "GET", "/controlled/log?site_id={central}&item_id={cannabis_item}&format=csv", Scope.CENTRAL
    ),
    Endpoint("GET", "/controlled/inventory?site_id={central}", Scope.CENTRAL),
    Endpoint("GET", "/controlled/inventory?site_id={central}&format=pdf", Scope.CENTRAL),
)


def _cases() -> Iterator[Any]:
    for endpoint in ENDPOINTS:
        where = f"@{endpoint.scope.name}" if endpoint.scope is Scope.RETAIL else ""
        for persona in (*PERSONAS, ANONYMOUS):
            yield pytest.param(endpoint, persona, id=f"{endpoint}{where}-{persona}")


# --- fixtures -----------------------------------------------------------------------------------


@dataclass
class Matrix:
    rt: Runtime
    scenario: Scenario
    api: ApiClient


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def world_file(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Scenario]:
    """The migrated template plus the scenario, built once; cases run on copies of the file."""
    path = tmp_path_factory.mktemp("authorization") / "world.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_fast_password_hashing(monkeypatch)
        scenario = build_scenario(Runtime(engine, ManualClock(NOW), LedgerPolicy()))
    engine.dispose()
    return path, scenario


@pytest.fixture(scope="module")
def client(world_file: tuple[Path, Scenario]) -> ApiClient:
    """One app for the module (its first requests are slow to warm up); each case points it at
    its own copy of the database through ``app.state.runtime``."""
    engine = create_db_engine(f"sqlite:///{world_file[0]}")
    app = create_app(Runtime(engine, ManualClock(NOW), LedgerPolicy()), with_web=False)
    engine.dispose()
    return ApiClient(app, world_file[1].users)


@pytest.fixture
def matrix(
    world_file: tuple[Path, Scenario], client: ApiClient, tmp_path: Path, clock: ManualClock
) -> Iterator[Matrix]:
    template, scenario = world_file
    path = tmp_path / "case.db"
    shutil.copyfile(template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    rt = Runtime(engine=engine, clock=clock, policy=LedgerPolicy())
    client.app.state.runtime = rt
    yield Matrix(rt, scenario, client)
    engine.dispose()


# --- the tests ----------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return None


@pytest.mark.parametrize(("endpoint", "persona"), list(_cases()))
def test_authorization_matrix(endpoint: Endpoint, persona: str, matrix: Matrix) -> None:
    # given the scenario, as this persona
    s = matrix.scenario
    before = ledger_state(matrix.rt)
    body = endpoint.body(s) if endpoint.body else None
    # when
    response = matrix.api.request(
        endpoint.method,
        endpoint.url(s, persona),
        who=None if persona == ANONYMOUS else persona,
        json=body,
    )
    # then
    if endpoint.permits(persona):
        assert response.status_code == endpoint.ok, f"{response.status_code}: {response.text}"
        if endpoint.reveals_central is not None:
            assert endpoint.reveals_central(s, response.json()), response.text
        if endpoint.method != "GET" and endpoint.writes:
            assert ledger_state(matrix.rt) != before, "an accepted write changed nothing"
        return
    if persona == ANONYMOUS:
        error(response, 401, "UNAUTHENTICATED")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif endpoint.refusal is HIDDEN:
        assert response.status_code == 200, response.text
        assert endpoint.reveals_central is not None
        assert not endpoint.reveals_central(s, _json(response)), response.text
    else:
        assert endpoint.refusal.code is not None
        error(response, endpoint.refusal.status, endpoint.refusal.code)
    assert ledger_state(matrix.rt) == before, "a refused request changed the database"


def test_the_matrix_covers_every_api_endpoint(matrix: Matrix) -> None:
    # given every (method, path) the app serves under /api/v1
    served = api_routes(matrix.api.app)
    # when each row of the matrix is routed like a request
    covered = set()
    for endpoint in ENDPOINTS:
        path = API + endpoint.url(matrix.scenario, "technician").split("?")[0]
        route = next(
            (r for r in served if r.method == endpoint.method and r.regex.match(path)), None
        )
        assert route is not None, f"no route serves {endpoint}"
        covered.add((route.method, route.path))
    # then no endpoint lacks a row
    assert {(r.method, r.path) for r in served} - covered == set()
    assert len(served) >= 33


def test_a_site_admin_cannot_take_over_the_organization_wide_admin(matrix: Matrix) -> None:
    """A CENTRAL admin manages CENTRAL's people; resetting the password of an organization-wide
    admin would hand them every site."""
    # given
    s = matrix.scenario
    before = ledger_state(matrix.rt)
    # when the CENTRAL admin resets the org admin's password
    response = matrix.api.patch(
        f"/users/{s.users['org_admin'].user_id}",
        who="admin",
        json={"password": "taken over passphrase"},
    )
    # then it is refused and the org admin still signs in with the old password
    error(response, 403, "FORBIDDEN")
    assert ledger_state(matrix.rt) == before
    identity.authenticate(matrix.rt, s.organization, "org-admin", PASSWORD, "test")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/documents/{receipt}/returns", {"location_id": "{retail_storage}"}),
        ("/documents/{dispense}/transfer-receipts", {"location_id": "{retail_storage}"}),
        ("/documents/{reversible}/reversal", {}),
    ],
    ids=["return-of-a-receipt", "transfer-receipt-of-a-dispense", "reversal-of-a-reversed-receipt"],
)
def test_postings_against_central_documents_tell_another_sites_user_nothing(
    matrix: Matrix, path: str, body: dict[str, str]
) -> None:
    # given a CENTRAL receipt reversed by CENTRAL's pharmacist
    s = matrix.scenario
    ids = {**s.ids("retail_technician"), "retail_storage": s.retail_storage}
    reversal = matrix.api.post(f"/documents/{s.reversible}/reversal", who="pharmacist", json={})
    assert reversal.status_code == 201, reversal.text
    before = ledger_state(matrix.rt)
    # when RETAIL's technician posts against CENTRAL documents
    response = matrix.api.post(
        path.format(**ids),
        who="retail_technician",
        json={k: int(v.format(**ids)) for k, v in body.items()},
    )
    # then the answer is the same refusal whatever the documents are
    error(response, 403, "FORBIDDEN")
    assert ledger_state(matrix.rt) == before


def test_an_auditing_site_admin_cannot_grant_itself_organization_wide_admin(matrix: Matrix) -> None:
    # given a user who audits everywhere and administers CENTRAL
    s = matrix.scenario
    me = s.users["auditing_admin"]
    before = ledger_state(matrix.rt)
    # when it grants itself admin at every site
    response = matrix.api.post(
        f"/users/{me.user_id}/grants", who="auditing_admin", json={"role": "admin", "site_id": None}
    )
    # then
    error(response, 403, "FORBIDDEN")
    assert ledger_state(matrix.rt) == before
