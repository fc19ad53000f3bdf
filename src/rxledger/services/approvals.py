"""Approvals as one mechanism: policies, adjustments held above them, one inbox, one decision.

Every request for approval is an ``approvals`` row (requisitions, item proposals, held
adjustments). An adjustment is valued at standard cost of its absolute deltas (planned by a dry
run under the posting rules); below its policy (``domain.approvals``) it posts at once, above it
is held in ``held_adjustments`` — counted lines fixed to the deltas they meant when requested —
until another user with an approver role posts it as themselves (idempotency key
``held-adjustment:<id>``) or rejects it. The inbox lists what the actor could decide; deciding a
requisition or an item proposal goes to its own service. Every decision is kept on its approvals
row and in the audit log.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from rxledger.adapters import approvals_repository as ar
from rxledger.adapters import purchasing_repository as pr
from rxledger.adapters import repository as repo
from rxledger.adapters import tables_control as tc
from rxledger.adapters import tables_receiving as tr
from rxledger.domain import errors
from rxledger.domain.approvals import (
    ADJUSTMENT,
    DEFAULT_POLICIES,
    KNOWN_ACTIONS,
    ApprovalPolicy,
    check_decider,
    check_policy,
    default_policy,
    parse_roles,
    required,
)
from rxledger.domain.ledger import fingerprint
from rxledger.domain.permissions import ALL_SITES, ROLE_PERMISSIONS, Permission, Role
from rxledger.domain.purchasing import (
    ApprovalStatus,
    require_status,
)
from rxledger.domain.stewardship import PROPOSAL_SUBJECT
from rxledger.services import audit, requisitions, stewardship, stock
from rxledger.services.controlled import Witness
from rxledger.services.posting import Header, PostedDocument, load_document
from rxledger.services.queries import visible_site_ids
from rxledger.services.requisition_views import SUBJECT as REQUISITION
from rxledger.services.requisition_views import ApprovalView, approval_view
from rxledger.services.runtime import Actor, Runtime

APPROVE_ADJUSTMENT = "approve_adjustment"  # the approvals row's action of a held adjustment
INBOX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AdjustmentOutcome:
    """Posted at once (``document``) or held for approval (``approval_id``, ``held_id``)."""

    value: Decimal
    document: PostedDocument | None = None
    approval_id: int | None = None
    held_id: int | None = None
    policy: ApprovalPolicy | None = None

    @property
    def held(self) -> bool:
        return self.document is None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: int
    site_id: int
    subject_type: str
    subject_id: int
    action: str
    value: Decimal | None
    quantity: int | None
    requested_by: str
    requested_at: datetime
    summary: str


@dataclass(frozen=True, slots=True)
class Decision:
    approval: ApprovalView
    document_id: int | None = None


# --- policies -----------------------------------------------------------------------------------


def list_policies(rt: Runtime, actor: Actor) -> list[ApprovalPolicy]:
    """The organization's policies (organization-wide ones, and those of the sites the actor
    sees), and the built-in default of each action without an active organization-wide one (in
    force wherever no site policy of the action is)."""
    actor.require_anywhere(Permission.VIEW)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        stored = _policies(conn, actor.organization_id)
        seen = visible_site_ids(conn, actor)
    shown = [p for p in stored if p.site_id is None or seen is None or p.site_id in seen]
    covered = {p.action for p in stored if p.active and p.site_id is None}
    return shown + [p for p in DEFAULT_POLICIES if p.action not in covered]


def create_policy(
    rt: Runtime,
    actor: Actor,
    *,
    action: str,
    approver_roles: str,
    min_value: Decimal | None = None,
    min_quantity: int | None = None,
    site_id: int | None = None,
    active: bool = True,
) -> ApprovalPolicy:
    """Keep a policy (``manage_sites`` through an organization-wide grant, for a site policy too).
    Site policies of an action replace the organization-wide ones at that site."""
    _require_policy_rights(actor, site_id)
    policy = ApprovalPolicy(
        action, parse_roles(approver_roles), min_value, min_quantity, site_id, active
    )
    check_policy(policy)
    with rt.uow() as uow:
        conn = uow.connection
        if site_id is not None and not rt.references.site_exists(
            conn, actor.organization_id, site_id
        ):
            raise errors.SiteNotFound(f"no site {site_id}", site_id=site_id)
        values = {
            "organization_id": actor.organization_id,
            "site_id": site_id,
            "action": action,
            "min_value": min_value,
            "min_quantity": min_quantity,
            "approver_roles": ",".join(r.value for r in policy.approver_roles),
            "active": active,
            "created_by": actor.username,
            "created_at": rt.clock.now(),
        }
        policy_id = ar.insert_policy(conn, values)
        audit.record(
            conn,
            actor,
            action="create approval policy",
            subject_type="approval_policy",
            subject_id=policy_id,
            site_id=site_id,
            before=None,
            after=_policy_record(replace(policy, id=policy_id)),
            at=rt.clock.now(),
        )
        uow.commit()
    return replace(policy, id=policy_id)


class _Unchanged:
    """A keyword left out of ``update_policy``: the policy keeps what it had."""


UNCHANGED: Any = _Unchanged()


def update_policy(
    rt: Runtime,
    actor: Actor,
    policy_id: int,
    *,
    approver_roles: str | None = None,
    min_value: Decimal | None = UNCHANGED,
    min_quantity: int | None = UNCHANGED,
    active: bool | None = None,
) -> ApprovalPolicy:
    """Change a kept policy's approvers or thresholds (``None`` removes a threshold), or retire
    it (``active=False``) and bring it back. Its action and site stay; each change is audited
    with the policy before and after. Requests already waiting are judged by the policies in
    force when they are decided."""
    with rt.uow() as uow:
        conn = uow.connection
        row = ar.policy_row(conn, actor.organization_id, policy_id, lock=True)
        _require_policy_rights(actor, row.site_id)
        before = ar.as_policy(row)
        after = replace(
            before,
            approver_roles=before.approver_roles
            if approver_roles is None
            else parse_roles(approver_roles),
            min_value=before.min_value if min_value is UNCHANGED else min_value,
            min_quantity=before.min_quantity if min_quantity is UNCHANGED else min_quantity,
            active=before.active if active is None else active,
        )
        # roles are judged when they change: a policy kept before that rule may still be retired
        check_policy(after, roles=approver_roles is not None)
        if after != before:
            ar.update_policy(
                conn,
                policy_id,
                {
                    "approver_roles": ",".join(r.value for r in after.approver_roles),
                    "min_value": after.min_value,
                    "min_quantity": after.min_quantity,
                    "active": after.active,
                },
            )
            audit.record(
                conn,
                actor,
                action="change approval policy",
                subject_type="approval_policy",
                subject_id=policy_id,
                site_id=row.site_id,
                before=_policy_record(before),
                after=_policy_record(after),
                at=rt.clock.now(),
            )
        uow.commit()
    return after


def _require_policy_rights(actor: Actor, site_id: int | None) -> None:
    """Policies are kept by administrators of the whole organization, site policies too: a site
    policy replaces the organization's at its site, so a site's own administrator could otherwise
    waive the organization's controls there."""
    if not any(
        g.site_id is ALL_SITES and Permission.MANAGE_SITES in ROLE_PERMISSIONS[g.role]
        for g in actor.grants
    ):
        raise errors.Forbidden(
            f"{actor.username} may not keep approval policies: that needs an "
            "organization-wide administrator",
            permission=Permission.MANAGE_SITES.value,
            site_id=site_id,
        )


def _policy_record(policy: ApprovalPolicy) -> dict[str, Any]:
    return {
        "action": policy.action,
        "site_id": policy.site_id,
        "approver_roles": ",".join(r.value for r in policy.approver_roles),
        "min_value": policy.min_value,
        "min_quantity": policy.min_quantity,
        "active": policy.active,
    }


# --- adjustments ----------------------------------------------------------------------------------


def request_adjustment(rt: Runtime, actor: Actor, cmd: stock.Adjust) -> AdjustmentOutcome:
    """Post an adjustment at once below its approval policy, else hold it for approval."""
    actor.require(Permission.ADJUST, cmd.site_id)
    if cmd.header.dry_run or _already_posted(rt, actor, cmd.header.idempotency_key):
        return AdjustmentOutcome(Decimal(0), stock.adjust(rt, actor, cmd))
    replayed = _replay_hold(rt, actor, cmd)
    if replayed is not None:
        return replayed
    planned = stock.adjust(
        rt, actor, replace(cmd, header=replace(cmd.header, dry_run=True, idempotency_key=None))
    )
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        items = repo.items_by_id(
            conn, actor.organization_id, {m.item_id for m in planned.movements}
        )
        policies = _policies(conn, actor.organization_id)
    value = sum(
        (Decimal(m.quantity) * items[m.item_id].standard_cost for m in planned.movements),
        Decimal(0),
    ).quantize(Decimal("0.0001"))
    quantity = sum(m.quantity for m in planned.movements)
    policy = required(ADJUSTMENT, value, quantity, policies, site_id=cmd.site_id)
    if policy is None:
        return AdjustmentOutcome(value, stock.adjust(rt, actor, cmd))
    payload = _held_payload(cmd, planned)
    payload["request"] = _request_hash(cmd)
    now = rt.clock.now()
    key = cmd.header.idempotency_key
    with rt.uow() as uow:
        conn = uow.connection
        try:
            held_id = _insert(
                conn,
                tc.held_adjustments,
                {
                    "organization_id": actor.organization_id,
                    "site_id": cmd.site_id,
                    "payload": audit.canonical_json(payload),
                    "value": value,
                    "requested_by": actor.username,
                    "requested_at": now,
                    "status": "pending",
                    "idempotency_key": key,
                },
            )
        except IntegrityError:
            # The same request, retried while the first was being held: its hold is the answer.
            conn.rollback()
            if key is None:
                raise
            replayed = _replay_hold(rt, actor, cmd)
            if replayed is None:
                raise
            return replayed
        approval_id = pr.insert_approval(
            conn,
            {
                "organization_id": actor.organization_id,
                "site_id": cmd.site_id,
                "subject_type": ADJUSTMENT,
                "subject_id": held_id,
                "action": APPROVE_ADJUSTMENT,
                "value": value,
                "quantity": quantity,
                "requested_by": actor.username,
                "requested_at": now,
                "status": ApprovalStatus.PENDING.value,
                "note": f"worth {value.quantize(Decimal('0.01'))} at standard cost; "
                f"policy: {policy.describe()}"[:2000],
            },
        )
        conn.execute(
            update(tc.held_adjustments)
            .where(tc.held_adjustments.c.id == held_id)
            .values(approval_id=approval_id)
        )
        audit.record(
            conn,
            actor,
            action="hold adjustment",
            subject_type=ADJUSTMENT,
            subject_id=held_id,
            site_id=cmd.site_id,
            before=None,
            after={"approval": approval_id, "value": value, "quantity": quantity, **payload},
            at=now,
        )
        uow.commit()
    return AdjustmentOutcome(value, None, approval_id, held_id, policy)


# --- the inbox ------------------------------------------------------------------------------------


def inbox(rt: Runtime, actor: Actor, site_id: int | None = None) -> list[InboxEntry]:
    """Every pending approval at the visible sites (or one site) that the actor could decide:
    not their own request, and with the role or permission its kind needs. Oldest first."""
    if site_id is not None:
        actor.require(Permission.VIEW, site_id)
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        sites = {site_id} if site_id is not None else visible_site_ids(conn, actor)
        rows = pr.pending_approvals(conn, actor.organization_id, sites, limit=INBOX_LIMIT, offset=0)
        policies = _policies(conn, actor.organization_id)
        held = _held_rows(conn, [r.subject_id for r in rows if r.subject_type == ADJUSTMENT])
        lines = _count_lines(conn, actor, rows)
        decidable = [r for r in rows if _may_decide(actor, r, held, policies, lines)]
        names = _item_names(conn, actor, held.values())
    return [_entry(r, held, names) for r in decidable]


def decide(
    rt: Runtime,
    actor: Actor,
    approval_id: int,
    approve: bool,
    note: str | None = None,
    *,
    witness: Witness | None = None,
) -> Decision:
    """Approve or reject a pending approval of any kind; a rejection needs a reason.

    A held adjustment is posted by the approver (``witness`` for schedule II stock); a
    requisition, an item proposal or a count line awaiting approval (``services.counts``: the
    adjustment posts, or the line goes back to its investigation) is decided by its own service,
    under its own rules."""
    row = _approval(rt, actor, approval_id)
    require_status(f"approval {approval_id}", row.status, ApprovalStatus.PENDING.value)
    text = (note or "").strip()
    if not approve and not text:
        raise errors.ValidationFailed("a rejection needs a reason", field="note")
    document_id: int | None = None
    if row.subject_type == REQUISITION:
        if approve:
            requisitions.approve_requisition(rt, actor, row.subject_id, text or None)
        else:
            requisitions.reject_requisition(rt, actor, row.subject_id, text)
    elif row.subject_type == PROPOSAL_SUBJECT:
        if approve:
            stewardship.approve_proposal(rt, actor, row.subject_id, text or None)
        else:
            stewardship.reject_proposal(rt, actor, row.subject_id, text)
    elif row.subject_type == ADJUSTMENT:
        document_id = _decide_adjustment(rt, actor, row, approve, text, witness)
    elif row.subject_type == COUNT_LINE:
        document_id = _decide_count_line(rt, actor, row, approve, text, witness)
    else:
        raise errors.StatusConflict(
            f"approval {approval_id} is of a {row.subject_type}, decided elsewhere",
            subject_type=row.subject_type,
        )
    return Decision(approval_view(_approval(rt, actor, approval_id)), document_id)


def _decide_adjustment(
    rt: Runtime, actor: Actor, row: Row[Any], approve: bool, text: str, witness: Witness | None
) -> int | None:
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        held = _held_rows(conn, [row.subject_id])[row.subject_id]
        policy = _held_policy(row, _policies(conn, actor.organization_id))
    check_decider(
        [held.requested_by, row.requested_by], actor.username, actor.roles_at(row.site_id), policy
    )
    key = f"held-adjustment:{held.id}"
    now = rt.clock.now()
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED

    def record(conn: Connection, document_id: int | None) -> None:
        """The decision, in the same transaction as the posting it allows: an approval and a
        rejection racing each other cannot both win (the conditional update serializes them)."""
        decided = conn.execute(
            update(tr.approvals)
            .where(tr.approvals.c.id == row.id, tr.approvals.c.status == "pending")
            .values(
                status=status.value,
                decided_by=actor.username,
                decided_at=now,
                note=_with_note(row.note, f"{actor.username}: {text}") if text else row.note,
            )
        )
        if decided.rowcount != 1:
            raise errors.StatusConflict(f"approval {row.id} was decided meanwhile")
        conn.execute(
            update(tc.held_adjustments)
            .where(tc.held_adjustments.c.id == held.id)
            .values(status="posted" if approve else "rejected", document_id=document_id)
        )
        audit.record(
            conn,
            actor,
            action=f"{'approve' if approve else 'reject'} adjustment",
            subject_type=ADJUSTMENT,
            subject_id=held.id,
            site_id=row.site_id,
            before={"approval": row.id, "status": row.status},
            after={
                "approval": row.id,
                "status": status.value,
                "note": text or None,
                "document": document_id,
            },
            at=now,
        )

    if approve:
        command = replace(
            _held_command(held, actor, row, text, key, witness),
            on_posted=lambda conn, doc_id, _movements: record(conn, doc_id),
        )
        return stock.adjust(rt, actor, command).id
    with rt.uow() as uow:
        record(uow.connection, None)
        uow.commit()
    return None


# --- helpers ------------------------------------------------------------------------------------


def _insert(conn: Connection, table: Any, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def _policies(conn: Connection, org_id: int) -> list[ApprovalPolicy]:
    return ar.policies(conn, org_id)


def _held_policy(row: Row[Any], policies: list[ApprovalPolicy]) -> ApprovalPolicy:
    """The policy in force now for the held request; the default if none is reached any more."""
    value = Decimal(row.value or 0)
    found = required(ADJUSTMENT, value, row.quantity or 0, policies, site_id=row.site_id)
    return found or default_policy(ADJUSTMENT)


def _may_decide(
    actor: Actor,
    row: Row[Any],
    held: dict[int, Row[Any]],
    policies: list[ApprovalPolicy],
    lines: dict[int, Any] | None = None,
) -> bool:
    try:
        if row.subject_type == REQUISITION:
            actor.require(Permission.APPROVE_ORDERS, row.site_id)
            requisitions.check_decider(policies, actor, row)
        elif row.subject_type == PROPOSAL_SUBJECT:
            actor.require(Permission.APPROVE_ITEMS, row.site_id)
            check_decider(
                row.requested_by,
                actor.username,
                actor.roles_at(row.site_id),
                ApprovalPolicy(PROPOSAL_SUBJECT, tuple(Role)),
            )
        elif row.subject_type == ADJUSTMENT and row.subject_id in held:
            actor.require(Permission.ADJUST, row.site_id)
            check_decider(
                [row.requested_by, held[row.subject_id].requested_by],
                actor.username,
                actor.roles_at(row.site_id),
                _held_policy(row, policies),
            )
        elif row.subject_type == COUNT_LINE and lines and row.subject_id in lines:
            actor.require(Permission.ADJUST, row.site_id)
            subject = lines[row.subject_id]
            _check_count_approver(subject.counters, subject.investigator, actor.username)
            # a count adjustment is an adjustment: its policy's approver roles apply too
            policy = required(
                ADJUSTMENT,
                Decimal(row.value or 0),
                int(row.quantity or 0),
                policies,
                site_id=row.site_id,
            )
            if policy is not None:
                check_decider((), actor.username, actor.roles_at(row.site_id), policy)
        else:
            return False
    except errors.Forbidden:
        return False
    return True


def _approval(rt: Runtime, actor: Actor, approval_id: int) -> Row[Any]:
    c = tr.approvals.c
    with rt.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(tr.approvals).where(
                c.id == approval_id, c.organization_id == actor.organization_id
            )
        ).first()
    if row is None:
        raise errors.NotFound(f"no approval {approval_id}", approval_id=approval_id)
    actor.require(Permission.VIEW, row.site_id)
    return row


def _held_rows(conn: Connection, ids: list[int]) -> dict[int, Row[Any]]:
    if not ids:
        return {}
    c = tc.held_adjustments.c
    rows = conn.execute(select(tc.held_adjustments).where(c.id.in_(sorted(set(ids)))))
    return {r.id: r for r in rows}


def _already_posted(rt: Runtime, actor: Actor, key: str | None) -> bool:
    if key is None:
        return False
    with rt.uow(read_only=True) as uow:
        return repo.document_by_key(uow.connection, actor.organization_id, key) is not None


def _request_hash(cmd: stock.Adjust) -> str:
    """What the requester asked for (not what it came to), to tell a retry from another write."""
    return fingerprint(
        {
            "site_id": cmd.site_id,
            "lines": [asdict(line) for line in cmd.lines],
            "reference": cmd.header.reference,
            "note": cmd.header.note,
            "reason_code": cmd.header.reason_code,
            "occurred_at": cmd.header.occurred_at,
        }
    )


def _replay_hold(rt: Runtime, actor: Actor, cmd: stock.Adjust) -> AdjustmentOutcome | None:
    """A retried request finds the hold its idempotency key made: still held, rejected, or the
    document its approver posted; the key used for a different adjustment is a conflict."""
    key = cmd.header.idempotency_key
    if key is None:
        return None
    c = tc.held_adjustments.c
    with rt.uow(read_only=True) as uow:
        conn = uow.connection
        held = conn.execute(
            select(tc.held_adjustments).where(
                c.organization_id == actor.organization_id, c.idempotency_key == key
            )
        ).first()
        if held is None:
            return None
        actor.require(Permission.ADJUST, held.site_id)
        if json.loads(held.payload).get("request") != _request_hash(cmd):
            raise errors.IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different adjustment "
                f"(held adjustment {held.id})",
                key=key,
                held_adjustment_id=held.id,
            )
        if held.status == "rejected":
            raise errors.StatusConflict(
                f"held adjustment {held.id} was rejected (approval {held.approval_id}); "
                "request it again with another idempotency key",
                status="rejected",
                held_adjustment_id=held.id,
                approval_id=held.approval_id,
            )
        value = Decimal(held.value)
        if held.document_id is not None:
            row = repo.document_by_id(conn, actor.organization_id, held.document_id)
            if row is not None:
                return AdjustmentOutcome(value, load_document(conn, row, replayed=True))
        approval = conn.execute(
            select(tr.approvals).where(tr.approvals.c.id == held.approval_id)
        ).first()
        policy = None
        if approval is not None:
            policy = _held_policy(approval, _policies(conn, actor.organization_id))
    return AdjustmentOutcome(value, None, held.approval_id, held.id, policy)


def _held_payload(cmd: stock.Adjust, planned: PostedDocument) -> dict[str, Any]:
    """The command as it is held: each counted line fixed to the delta it meant when requested
    (a count that matched moves nothing and is left out)."""
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(cmd.lines, start=1):
        delta = line.delta
        if line.counted is not None:
            delta = sum(
                m.quantity if m.to_location_id == line.location_id else -m.quantity
                for m in planned.movements
                if m.line_no == number
            )
        if not delta:
            continue
        lines.append(
            {
                "item_id": line.item_id,
                "location_id": line.location_id,
                "lot_id": line.lot_id,
                "reason_code": line.reason_code,
                "delta": delta,
                "counted": line.counted,
                "note": line.note,
            }
        )
    return {
        "site_id": cmd.site_id,
        "lines": lines,
        "reference": cmd.header.reference,
        "note": cmd.header.note,
        "reason_code": cmd.header.reason_code,
    }


def _held_command(
    held: Row[Any], actor: Actor, row: Row[Any], text: str, key: str, witness: Witness | None
) -> stock.Adjust:
    payload = json.loads(held.payload)
    lines = [
        stock.AdjustLine(
            x["item_id"],
            x["location_id"],
            x["lot_id"],
            x["reason_code"],
            x["delta"],
            None,
            x["note"],
        )
        for x in payload["lines"]
    ]
    said = f" ({text})" if text else ""
    note = (
        f"{payload['note'] + ' — ' if payload['note'] else ''}requested by {held.requested_by}, "
        f"approved by {actor.username}{said} (approval {row.id})"
    )[:2000]
    header = Header(
        reference=payload["reference"],
        note=note,
        reason_code=payload["reason_code"],
        idempotency_key=key,
    )
    return stock.Adjust(payload["site_id"], lines, header, witness)


def _item_names(conn: Connection, actor: Actor, held: Any) -> dict[int, str]:
    ids = {line["item_id"] for h in held for line in json.loads(h.payload)["lines"]}
    return {i: item.name for i, item in repo.items_by_id(conn, actor.organization_id, ids).items()}


def _entry(row: Row[Any], held: dict[int, Row[Any]], names: dict[int, str]) -> InboxEntry:
    if row.subject_type == ADJUSTMENT:
        lines = json.loads(held[row.subject_id].payload)["lines"]
        parts = [f"{names.get(x['item_id'], x['item_id'])} {x['delta']:+d}" for x in lines]
        summary = f"adjustment: {', '.join(parts)}"
    elif row.subject_type == COUNT_LINE:
        summary = f"count adjustment, {row.note or f'count line {row.subject_id}'}"
    else:
        label = "requisition" if row.subject_type == REQUISITION else row.subject_type
        summary = f"{label} {row.subject_id}" + (f": {row.note}" if row.note else "")
    return InboxEntry(
        row.id,
        row.site_id,
        row.subject_type,
        row.subject_id,
        row.action,
        None if row.value is None else Decimal(row.value),
        row.quantity,
        row.requested_by,
        row.requested_at,
        summary[:500],
    )


def _with_note(existing: str | None, addition: str) -> str:
    return (f"{existing}\n{addition}" if existing else addition)[:2000]


# --- count lines awaiting approval (services/counts.py settles them) ----------------------------

COUNT_LINE = "count_line"


def _count_lines(conn: Connection, actor: Actor, rows: list[Row[Any]]) -> dict[int, Any]:
    """The counters and investigator of the count lines among ``rows``, by line id."""
    from rxledger.services import counts

    ids = [r.subject_id for r in rows if r.subject_type == COUNT_LINE]
    return dict(counts.approval_subjects(conn, actor.organization_id, ids)) if ids else {}


def _check_count_approver(counters: Any, investigator: str | None, username: str) -> None:
    from rxledger.domain.counts import check_approver as check_count_approver

    check_count_approver(counters, investigator, username)


def _decide_count_line(
    rt: Runtime, actor: Actor, row: Row[Any], approve: bool, text: str, witness: Witness | None
) -> int | None:
    """Approve (the count adjustment posts, ``witness`` for schedule II) or reject (the line goes
    back to its investigation) through the counts service, which decides this approvals row in
    the same transaction."""
    from rxledger.services import counts

    if approve:
        view = counts.approve(rt, actor, row.subject_id, witness=witness, note=text or None)
        return next((x.document_id for x in view.lines if x.id == row.subject_id), None)
    counts.reject_adjustment(rt, actor, row.subject_id, text)
    return None


__all__ = [
    "KNOWN_ACTIONS",
    "AdjustmentOutcome",
    "Decision",
    "InboxEntry",
    "create_policy",
    "decide",
    "inbox",
    "list_policies",
    "request_adjustment",
    "update_policy",
]
