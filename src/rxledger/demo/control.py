"""Inventory control in the demo, as a pharmacy would find it on a Monday morning: a blind cycle
count of the central pharmacy's riskiest stock half counted by the technician, an earlier count
with a line waiting for its recount by someone else, and a damaged-stock write-off large enough to
wait for a pharmacist in the approvals inbox. All of it through the counts and approvals
services, under the demo's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from rxledger.demo.network import CENTRAL, DemoNetwork
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import approvals, catalog, counts, queries, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime

COUNT_LINES = 12  # lines of the open count
WRITE_OFF_VALUE = Decimal(300)  # at standard cost: above the default adjustment policy (250.00)


@dataclass
class ControlTally:
    counts: int = 0
    held_adjustments: int = 0


def seed_control(rt: Runtime, clock: ManualClock, network: DemoNetwork) -> ControlTally:
    """Open and submitted counts at CENTRAL, and one adjustment held for approval."""
    tally = ControlTally()
    central = network.sites[CENTRAL]
    org = network.organization.id
    # the demo users of the same names (``demo.people``) act here, before their accounts exist
    pharmacist = Actor(org, "pharmacist", None, (Grant(Role.PHARMACIST, central.id),))
    manager = Actor(org, "manager", None, (Grant(Role.MANAGER, central.id),))
    tech = Actor(org, "tech", None, (Grant(Role.TECHNICIAN, central.id),))
    stocked = [
        b
        for b in queries.balances(rt, network.actor, site_id=central.id)
        if b.on_hand > 0 and not b.is_virtual
    ]
    if not stocked:
        return tally
    on_hand: dict[tuple[int, int, int | None], int] = {
        (b.location_id, b.item_id, b.lot_id): b.on_hand for b in stocked
    }

    # an earlier count: one line counted short of the ledger, beyond its class's tolerance, so
    # it waits for a recount by another user than the technician
    clock.advance(timedelta(minutes=5))
    short = max(stocked, key=lambda b: b.on_hand)
    earlier = counts.create_count(
        rt,
        pharmacist,
        counts.NewCount(
            central.id,
            f"Spot check · {short.item_name}",
            location_ids=[short.location_id],
            item_ids=[short.item_id],
            assigned_to="tech",
        ),
    )
    for line in earlier.lines:
        clock.advance(timedelta(seconds=40))
        expected = on_hand.get((line.location_id, line.item_id, line.lot_id), 0)
        counts.set_tally(rt, tech, line.id, max(0, expected - max(6, expected // 50)))
    if earlier.lines:
        counts.submit(rt, tech, earlier.id)
        tally.counts += 1

    # today's blind count of the riskiest stock, half counted
    clock.advance(timedelta(minutes=20))
    today = counts.create_count(
        rt,
        pharmacist,
        counts.NewCount(central.id, "Risk count · central", program="risk", assigned_to="tech"),
    )
    tally.counts += 1
    for line in today.lines[: COUNT_LINES // 2]:
        clock.advance(timedelta(seconds=35))
        expected = on_hand.get((line.location_id, line.item_id, line.lot_id), 0)
        counts.set_tally(rt, tech, line.id, expected)

    # a dropped carton, worth more than the adjustment policy allows without a pharmacist
    clock.advance(timedelta(minutes=10))
    plenty = sorted(stocked, key=lambda b: b.on_hand, reverse=True)[:40]
    costs = {b.item_id: _cost(rt, network.actor, b.item_id) for b in plenty}
    dear = max(plenty, key=lambda b: b.on_hand * costs[b.item_id])
    unit = costs[dear.item_id]
    if unit > 0:
        units = min(dear.on_hand, int(WRITE_OFF_VALUE / unit) + 1)
        crushed = stock.AdjustLine(dear.item_id, dear.location_id, dear.lot_id, "DAMAGED", -units)
        header = Header(reference="DMG-DEMO", note="a carton crushed on the receiving dock")
        outcome = approvals.request_adjustment(
            rt, manager, stock.Adjust(central.id, [crushed], header)
        )
        tally.held_adjustments += int(outcome.held)
    return tally


def _cost(rt: Runtime, actor: Actor, item_id: int) -> Decimal:
    return catalog.get_item(rt, actor, item_id).standard_cost
