"""The stock forms: what each asks for, and how its fields become a stock command.

Each form is filled, confirmed (a preview of exactly what will change) and posted with the
idempotency key the confirm page was rendered with, so a double submit posts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rxledger.domain import errors
from rxledger.domain.ledger import check_client_key
from rxledger.domain.model import Item, LocationType
from rxledger.domain.permissions import Permission
from rxledger.entrypoints.web.fields import Fields
from rxledger.entrypoints.web.session import WebContext
from rxledger.services import stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import Header, PostedDocument
from rxledger.services.reports import StockCommand
from rxledger.services.runtime import Actor, Runtime

Parse = Callable[[Fields, Item | None], StockCommand]
AnyUseCase = Callable[[Runtime, Actor, Any], PostedDocument]


WITNESS_PASSWORD = "witness_password"  # noqa: S105 (a field name) never carried in a page


@dataclass(frozen=True, slots=True)
class StockForm:
    slug: str
    title: str
    noun: str  # what it posts: 'Review …' and 'Post …'
    permission: Permission
    parse: Parse
    use_case: AnyUseCase
    summary: str
    item: str = "required"  # required | optional | none
    lots: str = "none"  # none | optional (FEFO when empty) | required
    packs: bool = False  # quantity may be counted in packages
    location_types: tuple[LocationType, ...] = ()  # the default location, first match
    nav: str = ""  # the short name in the menu
    from_stock: bool = False  # default location: where the product is (else the first of the types)

    @property
    def fields_template(self) -> str:
        return f"stock/_{self.slug.replace('-', '_')}.html"


def header(f: Fields) -> Header:
    return Header(
        reference=f.text("reference", max_length=120),
        note=f.text("note", max_length=500),
        idempotency_key=check_client_key(f.text("idempotency_key")),
    )


def need_item(item: Item | None) -> Item:
    if item is None:
        raise errors.ValidationFailed("scan a product or search for it by name", field="scan")
    return item


def base_units(f: Fields, item: Item) -> int:
    """The quantity in base units; receipts may count packages (2 cases of 1,200 = 2,400)."""
    quantity = f.quantity()
    pack = f.optional_integer("pack", "package") or 1
    if pack != 1 and pack not in {p.base_units for p in item.packages}:
        raise errors.ValidationFailed(f"{item.name} has no package of {pack}", field="pack")
    return quantity * pack


def stock_line(f: Fields, item: Item) -> stock.StockLine:
    return stock.StockLine(item.id, f.quantity(), f.optional_integer("lot_id", "lot"))


def _receive(f: Fields, item: Item | None) -> StockCommand:
    chosen = need_item(item)
    line = stock.ReceiptLine(
        chosen.id,
        base_units(f, chosen),
        f.text("lot_number", max_length=40),
        f.optional_date("expiry", "expiry"),
    )
    return stock.Receive(
        f.integer("site_id", "site"), f.integer("location_id", "location"), [line], header(f)
    )


def _move(f: Fields, item: Item | None) -> StockCommand:
    return stock.Move(
        f.integer("site_id", "site"),
        f.integer("from_location_id", "from location"),
        f.integer("to_location_id", "to location"),
        [stock_line(f, need_item(item))],
        header(f),
        put_away=f.flag("put_away"),
    )


def witness(f: Fields) -> Witness | None:
    """A schedule II posting's witness: their user name and password, typed at the screen."""
    who = f.text("witness", max_length=120)
    secret = f.text(WITNESS_PASSWORD, max_length=200)
    return Witness(who, secret) if who and secret else None


def _transfer(f: Fields, item: Item | None) -> StockCommand:
    return stock.ShipTransfer(
        f.integer("site_id", "site"),
        f.integer("from_location_id", "from location"),
        f.integer("to_site_id", "destination site"),
        [stock_line(f, need_item(item))],
        header(f),
        witness=witness(f),
    )


def _receive_transfer(f: Fields, item: Item | None) -> StockCommand:
    typed = f.optional_integer("shipment_number", "shipment number")
    shipment = typed if typed is not None else f.integer("shipment_id", "shipment")
    return stock.ReceiveTransfer(
        shipment, f.integer("location_id", "location"), (), header(f), witness=witness(f)
    )


def _dispense(f: Fields, item: Item | None) -> StockCommand:
    return stock.Dispense(
        f.integer("site_id", "site"),
        f.integer("location_id", "location"),
        [stock_line(f, need_item(item))],
        header(f),
    )


def _return(f: Fields, item: Item | None) -> StockCommand:
    lines = [stock.StockLine(item.id, f.quantity())] if item is not None else []
    return stock.ReverseDispense(
        f.integer("dispense_id", "dispense document"),
        f.integer("location_id", "location"),
        lines,
        header(f),
    )


def _adjust(f: Fields, item: Item | None) -> StockCommand:
    chosen = need_item(item)
    counting = f.text("mode") == "count"
    amount = f.integer("quantity", "counted quantity" if counting else "change")
    line = stock.AdjustLine(
        chosen.id,
        f.integer("location_id", "location"),
        f.integer("lot_id", "lot"),
        f.required_text("reason_code", "a reason", max_length=40),
        delta=None if counting else amount,
        counted=amount if counting else None,
        note=f.text("note", max_length=500),
    )
    return stock.Adjust(f.integer("site_id", "site"), [line], header(f), witness=witness(f))


def _reverse(f: Fields, item: Item | None) -> StockCommand:
    return stock.Reverse(f.integer("document_id", "document"), header(f))


_STOCKING = (
    LocationType.STORAGE,
    LocationType.DISPENSING_CABINET,
    LocationType.SALES_FLOOR,
    LocationType.VAULT,
)
FORMS: dict[str, StockForm] = {
    form.slug: form
    for form in (
        StockForm(
            "receive",
            "Receive from a supplier",
            "receipt",
            Permission.RECEIVE,
            _receive,
            stock.receive,
            "Goods arrive from a supplier into a location of this site.",
            nav="Receive",
            packs=True,
            location_types=(LocationType.RECEIVING, LocationType.STORAGE),
        ),
        StockForm(
            "move",
            "Put away or move",
            "move",
            Permission.MOVE,
            _move,
            stock.move,
            "Move stock between two locations of this site, keeping its lot.",
            nav="Put away / move",
            lots="optional",
            location_types=(LocationType.RECEIVING, LocationType.STORAGE),
        ),
        StockForm(
            "transfer",
            "Transfer to another site",
            "transfer",
            Permission.TRANSFER,
            _transfer,
            stock.ship_transfer,
            "Ship stock to another site; it stays in transit until that site receives it.",
            from_stock=True,
            nav="Transfer out",
            lots="optional",
            location_types=_STOCKING,
        ),
        StockForm(
            "receive-transfer",
            "Receive a shipment",
            "shipment receipt",
            Permission.TRANSFER,
            _receive_transfer,
            stock.receive_transfer,
            "Receive everything still in transit of a shipment from another site.",
            nav="Receive shipment",
            item="none",
            location_types=(LocationType.RECEIVING, LocationType.STORAGE),
        ),
        StockForm(
            "dispense",
            "Dispense",
            "dispense",
            Permission.DISPENSE,
            _dispense,
            stock.dispense,
            "Dispense to a patient or customer; the earliest-expiring usable lot goes first.",
            from_stock=True,
            nav="Dispense",
            lots="optional",
            location_types=_STOCKING,
        ),
        StockForm(
            "return",
            "Return a dispense to stock",
            "return",
            Permission.DISPENSE,
            _return,
            stock.reverse_dispense,
            "Put dispensed units back in stock: all of a dispense, or a quantity of one item.",
            nav="Return to stock",
            item="optional",
            location_types=(LocationType.RETURNS, *_STOCKING),
        ),
        StockForm(
            "adjust",
            "Adjust or count",
            "adjustment",
            Permission.ADJUST,
            _adjust,
            stock.adjust,
            "Correct the on-hand of one lot in one location, with a reason.",
            from_stock=True,
            nav="Adjust / count",
            lots="required",
            location_types=_STOCKING,
        ),
        StockForm(
            "reverse",
            "Reverse a document",
            "reversal",
            Permission.REVERSE,
            _reverse,
            stock.reverse,
            "Undo a posted document with a reversing document that points at it.",
            nav="Reverse",
            item="none",
        ),
    )
}


def form_named(slug: str) -> StockForm:
    form = FORMS.get(slug)
    if form is None:
        raise errors.NotFound(f"no stock form {slug!r}", form=slug)
    return form


def require_form(ctx: WebContext, form: StockForm) -> None:
    """Open a form only where the services would accept it (they check again when posting)."""
    ctx.actor.require(form.permission, ctx.site_id)
