"""Approval policies as stored: read as ``domain.approvals.ApprovalPolicy``, added and changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from rxledger.adapters import tables_control as tc
from rxledger.domain import errors
from rxledger.domain.approvals import ApprovalPolicy, parse_roles

_c = tc.approval_policies.c


def policies(conn: Connection, org_id: int) -> list[ApprovalPolicy]:
    """Every policy the organization keeps, active or not, oldest first."""
    rows = conn.execute(
        select(tc.approval_policies).where(_c.organization_id == org_id).order_by(_c.id)
    )
    return [as_policy(r) for r in rows]


def policy_row(conn: Connection, org_id: int, policy_id: int, *, lock: bool = False) -> Row[Any]:
    query = select(tc.approval_policies).where(_c.organization_id == org_id, _c.id == policy_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row: Row[Any] | None = conn.execute(query).first()
    if row is None:
        raise errors.NotFound(f"no approval policy {policy_id}", policy_id=policy_id)
    return row


def as_policy(r: Row[Any]) -> ApprovalPolicy:
    return ApprovalPolicy(
        r.action,
        parse_roles(r.approver_roles),
        None if r.min_value is None else Decimal(r.min_value),
        r.min_quantity,
        r.site_id,
        bool(r.active),
        r.id,
    )


def insert_policy(conn: Connection, values: dict[str, Any]) -> int:
    table = tc.approval_policies
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def update_policy(conn: Connection, policy_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(tc.approval_policies).where(_c.id == policy_id).values(**values))
