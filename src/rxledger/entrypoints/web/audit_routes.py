"""The audit trail page: search by who, what, subject and dates, newest first, a page at a time;
export the matching rows as CSV; the hash chain's head, and (for organization-wide admins and
auditors) sealing and verifying it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from rxledger.domain import errors
from rxledger.entrypoints.web.render import WebRoute, render
from rxledger.entrypoints.web.session import Ctx, PostCtx, WebContext
from rxledger.services import audit
from rxledger.services.audit import AuditQuery, ChainReport

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "audit/index.html"
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=120)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise errors.ValidationFailed(f"{field}: a date is YYYY-MM-DD", field=field) from None


def _query(actor: str, action: str, subject: str, since: str, until: str) -> AuditQuery:
    kind, _, ident = subject.strip().partition(":")
    start, end = _day(since, "from"), _day(until, "to")
    return AuditQuery(
        actor=actor.strip() or None,
        action=action.strip() or None,
        subject_type=kind.strip() or None,
        subject_id=ident.strip() or None,
        since=datetime.combine(start, time(), UTC) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
    )


def _context(
    ctx: WebContext, filters: dict[str, str], offset: int, report: ChainReport | None = None
) -> dict[str, Any]:
    query = _query(**filters)
    rows = audit.search(ctx.rt, ctx.actor, query, limit=PAGE_SIZE + 1, offset=offset)
    link = urlencode({k: v for k, v in filters.items() if v})
    return {
        "filters": filters,
        "rows": rows[:PAGE_SIZE],
        "offset": offset,
        "newer": max(offset - PAGE_SIZE, 0) if offset else None,
        "older": offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
        "query_string": link,
        "chain": audit.chain_status(ctx.rt, ctx.actor),
        "may_verify": audit.may_verify(ctx.actor),
        "report": report,
    }


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    ctx: Ctx,
    actor: Text = "",
    action: Text = "",
    subject: Text = "",
    since: Text = "",
    until: Text = "",
    offset: Offset = 0,
) -> Response:
    """Who did what, when and from where, newest first."""
    filters = {"actor": actor, "action": action, "subject": subject, "since": since, "until": until}
    return render(request, PAGE, _context(ctx, filters, offset))


@router.get("/audit.csv")
def audit_csv(
    ctx: Ctx,
    actor: Text = "",
    action: Text = "",
    subject: Text = "",
    since: Text = "",
    until: Text = "",
) -> Response:
    """Every row the filters match (that this user may see) as CSV."""
    body = audit.export_csv(ctx.rt, ctx.actor, _query(actor, action, subject, since, until))
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, ctx: PostCtx) -> Response:
    """Seal the chain and recompute every link; the page names the first broken one."""
    report = audit.seal_and_verify(ctx.rt, ctx.actor)
    filters = dict.fromkeys(("actor", "action", "subject", "since", "until"), "")
    return render(request, PAGE, _context(ctx, filters, 0, report))
