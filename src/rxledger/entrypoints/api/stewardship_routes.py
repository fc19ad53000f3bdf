"""Item-master stewardship: link a GTIN unknown at the dock to an item, propose a new item for a
pharmacist's approval, and judge a receiving session's unknown packages again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from rxledger.domain.stewardship import ProposedItem
from rxledger.entrypoints.api import convert
from rxledger.entrypoints.api import schemas as s
from rxledger.entrypoints.api import stewardship_schemas as w
from rxledger.entrypoints.api.deps import ActorDep, IdPath, IdQuery, PagingDep, RuntimeDep
from rxledger.entrypoints.api.errors import ERROR_RESPONSES
from rxledger.services import rejudging, stewardship

router = APIRouter(responses=ERROR_RESPONSES, tags=["item stewardship"])
PROPOSALS = "/item-proposals"


@router.post("/items/{item_id}/packages", response_model=s.ItemOut, status_code=201)
def link_gtin(item_id: IdPath, body: w.PackageLinkIn, rt: RuntimeDep, actor: ActorDep) -> s.ItemOut:
    """Add a scanned GTIN to an item as the package level of `base_units` (needs MANAGE_ITEMS).
    A GTIN on another item is refused with `GTIN_ALREADY_ASSIGNED`; the same link again changes
    nothing."""
    item = stewardship.link_gtin(
        rt, actor, item_id, body.gtin, body.base_units, level=body.level, ndc10=body.ndc10
    )
    return convert.item(item)


@router.post(PROPOSALS, response_model=w.ItemProposalOut, status_code=201)
def propose_item(body: w.ItemProposalIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Propose a new item for a GTIN the item master does not know (needs RECEIVE at the site);
    it waits in the approvals for a pharmacist who did not propose it."""
    proposal = stewardship.propose_item(rt, actor, ProposedItem(**body.model_dump()))
    return proposal.as_dict()


@router.get(PROPOSALS, response_model=s.Page[w.ItemProposalOut])
def list_proposals(
    rt: RuntimeDep,
    actor: ActorDep,
    paging: PagingDep,
    site_id: IdQuery = None,
    status: Annotated[
        Literal["pending", "approved", "rejected", "withdrawn"] | None, Query()
    ] = None,
) -> dict[str, Any]:
    """Item proposals of the sites this user sees (or one site), oldest first."""
    found = stewardship.list_proposals(
        rt, actor, site_id=site_id, status=status, limit=paging.limit + 1, offset=paging.offset
    )
    items = [x.as_dict() for x in found[: paging.limit]]
    return s.page(items, paging.limit, paging.offset, len(found) > paging.limit)


@router.get(PROPOSALS + "/{proposal_id}", response_model=w.ItemProposalOut)
def get_proposal(proposal_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return stewardship.get_proposal(rt, actor, proposal_id).as_dict()


@router.post(PROPOSALS + "/{proposal_id}/approve", response_model=w.ItemProposalOut)
def approve_proposal(
    proposal_id: IdPath, body: w.ApproveIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Approve a pending proposal and create its item (needs APPROVE_ITEMS at the proposal's
    site; the proposer may not: `SELF_APPROVAL_FORBIDDEN`)."""
    return stewardship.approve_proposal(rt, actor, proposal_id, body.note).as_dict()


@router.post(PROPOSALS + "/{proposal_id}/reject", response_model=w.ItemProposalOut)
def reject_proposal(
    proposal_id: IdPath, body: w.RejectIn, rt: RuntimeDep, actor: ActorDep
) -> dict[str, Any]:
    """Reject a pending proposal with a reason, under the same rules as approving it."""
    return stewardship.reject_proposal(rt, actor, proposal_id, body.note).as_dict()


@router.post("/receiving-sessions/{session_id}/rejudge", response_model=w.RejudgeOut)
def rejudge(session_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Match and judge again the unknown-GTIN packages of an open session, once their GTIN is
    linked or their item approved: each is accepted or held with its new reason (`rescan`: the
    scan carried no lot or expiry for a product that tracks them)."""
    return rejudging.rejudge_unknown(rt, actor, session_id).as_dict()
