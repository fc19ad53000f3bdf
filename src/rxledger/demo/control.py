"""Inventory control in the demo, as a pharmacy would find it on a Monday morning: a blind cycle
count of the central pharmacy's riskiest stock half counted by the technician, an earlier count
with a line waiting for its recount by someone else, and a damaged-stock write-off large enough to
wait for a pharmacist in the approvals inbox. All of it through the counts and approvals
services, under the demo's clock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from rxledger.demo.network import CENTRAL, DemoNetwork
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import approvals, catalog, counts, queries, stock
from rxledger.services.posting import Header
from rxledger.services.runtime import Runtime

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

    # an earlier count: the fullest lot of the demo counted short of the ledger, beyond its
    # class's tolerance, so it waits for a recount by another user than the technician
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
        missing = max(6, expected // 50) if line.lot_id == short.lot_id else 0
        counts.set_tally(rt, tech, line.id, max(0, expected - missing))
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
    for line in today.lines[: len(today.lines) // 2]:
        clock.advance(timedelta(seconds=35))
        expected = on_hand.get((line.location_id, line.item_id, line.lot_id), 0)
        counts.set_tally(rt, tech, line.id, expected)

    # a dropped carton of a product that is not controlled, worth more than the adjustment
    # policy lets through without a pharmacist, with stock left on the shelf
    clock.advance(timedelta(minutes=10))
    items = {i: catalog.get_item(rt, network.actor, i) for i in {b.item_id for b in stocked}}
    for b in sorted(stocked, key=lambda b: (b.item_id, b.lot_id)):
        item = items[b.item_id]
        if item.is_controlled or item.standard_cost <= 0:
            continue
        units = math.ceil(WRITE_OFF_VALUE / item.standard_cost)
        if units >= b.on_hand:
            continue
        crushed = stock.AdjustLine(b.item_id, b.location_id, b.lot_id, "DAMAGED", -units)
        header = Header(reference="DMG-DEMO", note="a carton crushed on the receiving dock")
        outcome = approvals.request_adjustment(
            rt, manager, stock.Adjust(central.id, [crushed], header)
        )
        tally.held_adjustments += int(outcome.held)
        break
    return tally
