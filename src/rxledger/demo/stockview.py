"""The demo's own running view of physical stock, kept from the documents it posts.

The history walk plans every quantity from this view (never more than is on hand and usable), so the
ledger should never refuse a posting. It learns lots and quantities from the posted movements
themselves, so first-expiry-first-out choices made by the ledger are mirrored exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from rxledger.domain.ledger import PlannedMovement

StockKey = tuple[int, int]  # (location_id, item_id)


class StockView:
    """On-hand per (location, item) and lot, and each lot's expiry date."""

    def __init__(self, physical_location_ids: Iterable[int]) -> None:
        self._physical = frozenset(physical_location_ids)
        self._lots: dict[StockKey, dict[int, int]] = defaultdict(dict)
        self._items_at: dict[int, set[int]] = defaultdict(set)
        self.expiry: dict[int, date] = {}

    def apply(self, movements: Iterable[PlannedMovement]) -> None:
        """Take each movement out of its physical source and into its physical target."""
        for m in movements:
            if m.from_location_id in self._physical:
                self._add(m.from_location_id, m.item_id, m.lot_id, -m.quantity)
            if m.to_location_id in self._physical:
                self._add(m.to_location_id, m.item_id, m.lot_id, m.quantity)

    def _add(self, location_id: int, item_id: int, lot_id: int, quantity: int) -> None:
        lots = self._lots[(location_id, item_id)]
        left = lots.get(lot_id, 0) + quantity
        if left < 0:
            raise AssertionError(f"the demo's view went negative at {location_id}/{item_id}")
        if left:
            lots[lot_id] = left
            self._items_at[location_id].add(item_id)
        else:
            lots.pop(lot_id, None)

    def lots(self, location_id: int, item_id: int) -> dict[int, int]:
        """Lot id -> on hand, every lot, usable or not."""
        return self._lots.get((location_id, item_id), {})

    def on_hand(self, location_id: int, item_id: int) -> int:
        return sum(self.lots(location_id, item_id).values())

    def usable(self, location_id: int, item_id: int, day: date) -> int:
        """What first-expiry-first-out may take on ``day``: lots expiring that day or later."""
        return sum(
            q for lot, q in self.lots(location_id, item_id).items() if self.expiry[lot] >= day
        )

    def fefo(self, location_id: int, item_id: int, not_before: date) -> list[tuple[int, int]]:
        """(lot, on hand) of the lots expiring on ``not_before`` or later, earliest first."""
        lots = self.lots(location_id, item_id)
        usable = [(lot, q) for lot, q in lots.items() if self.expiry[lot] >= not_before]
        return sorted(usable, key=lambda lq: (self.expiry[lq[0]], lq[0]))

    def expired(self, location_id: int, before: date) -> list[tuple[int, int, int]]:
        """(item, lot, on hand) of lots at a location that expired before a date."""
        found = []
        for item_id in sorted(self._items_at.get(location_id, ())):
            for lot, quantity in sorted(self.lots(location_id, item_id).items()):
                if self.expiry[lot] < before:
                    found.append((item_id, lot, quantity))
        return found

    def contents(self, location_id: int) -> list[tuple[int, int, int]]:
        """(item, lot, on hand) of everything at a location."""
        return [
            (item_id, lot, quantity)
            for item_id in sorted(self._items_at.get(location_id, ()))
            for lot, quantity in sorted(self.lots(location_id, item_id).items())
        ]
