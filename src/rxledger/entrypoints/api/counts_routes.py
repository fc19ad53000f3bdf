"""Cycle counts: plan, count (typed or scanned), submit, recount, investigate, approve; accuracy.

A blind count's system quantities are left out (``null``) for whoever may not see them yet."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from rxledger.domain.counts import Tolerance
from rxledger.entrypoints.api.deps import NO_NUL, ActorDep, IdPath, IdQuery, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.entrypoints.api.schemas import Id, Strict
from rxledger.services import counts
from rxledger.services.controlled import Witness

router = APIRouter(responses=ERROR_RESPONSES, tags=["counts"])
Status = Annotated[str | None, Query(max_length=20, pattern=NO_NUL)]
Text = Annotated[str, Field(min_length=1, max_length=4000, pattern=NO_NUL)]


class CountIn(Strict):
    site_id: Id
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    program: Annotated[
        str, Field(pattern=r"^(manual|category|abc|risk|biennial)$", description="What to count.")
    ] = "manual"
    location_ids: list[Id] = Field(default_factory=list, max_length=500)
    item_ids: list[Id] = Field(default_factory=list, max_length=2000)
    category: Annotated[str, Field(max_length=60, pattern=NO_NUL)] | None = None
    blind: bool = True
    freeze: bool = False
    assigned_to: Annotated[str, Field(max_length=120, pattern=NO_NUL)] | None = None


class DailyIn(Strict):
    site_id: Id
    counters: list[Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]] = Field(
        min_length=1, max_length=50, description="The technicians counting today."
    )
    lines_per_counter: int = Field(default=40, ge=1, le=500)


class TallyIn(Strict):
    quantity: int = Field(ge=0, le=10**9, description="Base units counted; 0 confirms empty.")
    add: bool = Field(default=False, description="Add to the count instead of replacing it.")


class ScanIn(Strict):
    code: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
    location_id: Id | None = None
    quantity: int | None = Field(default=None, ge=1, le=10**9)


class InvestigateIn(Strict):
    findings: Text
    reason_code: Annotated[str, Field(min_length=1, max_length=40, pattern=NO_NUL)]


class WitnessIn(Strict):
    username: Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class ApproveIn(Strict):
    witness: WitnessIn | None = None


class ToleranceIn(Strict):
    units: int = Field(ge=0, le=10**9, description="Base units of difference tolerated.")
    value: Decimal = Field(
        ge=0,
        max_digits=14,
        decimal_places=4,
        strict=False,
        description="Value at standard cost of difference tolerated.",
    )


Program = Annotated[
    str,
    Path(
        pattern=r"^(\*|manual|category|abc|risk|biennial)$",
        description="A count program, or * for any.",
    ),
]
ItemClass = Annotated[
    str, Path(pattern=r"^(A|B|C|controlled)$", description="An ABC class, or controlled.")
]


def tolerance_dict(t: Tolerance) -> dict[str, Any]:
    return asdict(t)


def count_dict(view: counts.CountView) -> dict[str, Any]:
    out = asdict(view)
    out["counted"] = view.counted
    for line, source in zip(out["lines"], view.lines, strict=True):
        line["variance"] = source.variance
    return out


@router.get("/counts")
def list_counts(
    rt: RuntimeDep, actor: ActorDep, site_id: IdQuery = None, status: Status = None
) -> list[dict[str, Any]]:
    """Counts of the sites this user sees, newest first (without their lines)."""
    return [count_dict(v) for v in counts.list_counts(rt, actor, site_id=site_id, status=status)]


@router.post("/counts", status_code=201)
def create_count(body: CountIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Plan a count: its lines are chosen by the program, in walking order."""
    spec = counts.NewCount(
        site_id=body.site_id,
        title=body.title,
        program=body.program,
        location_ids=body.location_ids,
        item_ids=body.item_ids,
        category=body.category,
        blind=body.blind,
        freeze=body.freeze,
        assigned_to=body.assigned_to,
    )
    return count_dict(counts.create_count(rt, actor, spec))


@router.post("/counts/daily", status_code=201)
def daily(body: DailyIn, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Today's partial counts: the lines due by ABC class split across the counters, one blind
    count each, in walking order."""
    made = counts.daily_counts(
        rt, actor, body.site_id, body.counters, lines_per_counter=body.lines_per_counter
    )
    return [count_dict(v) for v in made]


@router.get("/counts/accuracy")
def accuracy(
    rt: RuntimeDep,
    actor: ActorDep,
    site_id: IdQuery = None,
    period: Annotated[Literal["M", "Q", "Y"], Query(description="Month, quarter or year.")] = "M",
) -> list[dict[str, Any]]:
    """Inventory accuracy (first counts equal to the ledger) and shrinkage (units and value
    adjusted down by counts) per site, period and dosage form."""
    return [
        asdict(row) | {"accuracy": row.accuracy}
        for row in counts.accuracy(rt, actor, site_id=site_id, period=period)
    ]


@router.get("/counts/{count_id}")
def get_count(count_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return count_dict(counts.get_count(rt, actor, count_id))


@router.post("/counts/{count_id}/scan")
def scan(count_id: IdPath, body: ScanIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """A scanned package adds its base units to its line (a new line for a lot not listed)."""
    view = counts.scan(
        rt, actor, count_id, body.code, location_id=body.location_id, quantity=body.quantity
    )
    return count_dict(view)


@router.post("/counts/{count_id}/submit")
def submit(count_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Freeze the first count of every line and judge each variance."""
    return count_dict(counts.submit(rt, actor, count_id))


@router.post("/counts/{count_id}/cancel")
def cancel(count_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return count_dict(counts.cancel(rt, actor, count_id))


@router.post("/count-lines/{line_id}/tally")
def tally(line_id: IdPath, body: TallyIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Type a line's count (or add to it)."""
    return count_dict(counts.set_tally(rt, actor, line_id, body.quantity, add=body.add))


@router.post("/count-lines/{line_id}/recount")
def recount(line_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Freeze a line's recount (made by someone who did not count it before)."""
    return count_dict(counts.submit_recount(rt, actor, line_id))


@router.get("/count-lines/{line_id}/investigation")
def investigation(line_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Every movement since the last settled count, and likely explanations."""
    view = counts.investigation(rt, actor, line_id)
    return {
        "line": asdict(view.line),
        "since": view.since,
        "movements": [asdict(m) for m in view.movements],
        "explanations": list(view.explanations),
    }


@router.post("/count-lines/{line_id}/investigate")
def investigate(
    line_id: IdPath, body: InvestigateIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Record the findings and reason code: the line waits for approval."""
    view = counts.investigate(
        rt, actor, line_id, findings=body.findings, reason_code=body.reason_code
    )
    return count_dict(view)


@router.post("/count-lines/{line_id}/approve")
def approve(line_id: IdPath, body: ApproveIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Approve the adjustment (by someone who neither counted nor investigated the line; a
    schedule II item needs a witness)."""
    witness = Witness(body.witness.username, body.witness.password) if body.witness else None
    return count_dict(counts.approve(rt, actor, line_id, witness=witness))


@router.get("/count-tolerances")
def list_tolerances(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The organization's count tolerances by program (``*``: any) and item class, and the
    default of each class it keeps none for (``default`` true). A line is judged by the rule for
    its count's program and class, else for any program, else the default."""
    return [tolerance_dict(t) for t in counts.list_tolerances(rt, actor)]


@router.put("/count-tolerances/{program}/{item_class}")
def set_tolerance(
    program: Program, item_class: ItemClass, body: ToleranceIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Keep a tolerance (administrators of every site: it applies to the organization)."""
    kept = counts.set_tolerance(rt, actor, program, item_class, body.units, body.value)
    return tolerance_dict(kept)


@router.delete("/count-tolerances/{program}/{item_class}")
def remove_tolerance(
    program: Program, item_class: ItemClass, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Forget a kept tolerance; answers the rule that applies to the class now."""
    return tolerance_dict(counts.remove_tolerance(rt, actor, program, item_class))
