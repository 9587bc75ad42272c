"""The verification queue and its one-click decisions: link duplicates, corroborate, verify, reject.

The queue lists reported and corroborated reports oldest first (the ones waiting longest come first),
each with its candidate duplicates beside it. Decisions post to the service (which checks the role,
the workflow and records who, when and why in the history and the audit chain); from the queue they
go through htmx and replace the item in place, without htmx they redirect to the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kalkan.errors import InputError
from kalkan.register import service
from kalkan.register.auth import Actor, visible_clause
from kalkan.register.db import Incident
from kalkan.register.pages import _vocab
from kalkan.register.pages._web import Page, PageError, check_csrf, page, reading, render, writing

router = APIRouter()

QUEUE_PAGE = 20
WAITING = ("reported", "corroborated")


def queue_ids(session: Session, actor: Actor, *, start: int, limit: int) -> tuple[list[int], int]:
    """Ids of the reports waiting for a decision that ``actor`` may see, oldest first, and their count.

    Only lead reports wait: a report linked to another is decided with its lead.
    """
    where = (visible_clause(actor), Incident.status.in_(WAITING), Incident.lead_id.is_(None))
    ids = list(
        session.scalars(sa.select(Incident.id).where(*where).order_by(Incident.id).offset(start).limit(limit))
    )
    total = int(session.scalar(sa.select(sa.func.count(Incident.id)).where(*where)) or 0)
    return ids, total


def queue_item(session: Session, actor: Actor, incident_id: int, *, candidates: int = 3) -> dict[str, Any]:
    """One queue item: the report, its candidate duplicates (with the other reports) and the moves."""
    incident = service.get_incident(session, actor, incident_id)
    pairs = service.duplicate_candidates(session, actor, incident_id=incident_id, limit=candidates)
    others = {}
    for pair in pairs:
        other = pair.incident_b if pair.incident_a == incident_id else pair.incident_a
        others[other] = service.get_incident(session, actor, other)
    return {
        "incident": incident,
        "candidates": pairs,
        "others": others,
        "transitions": _vocab.moves(service.TRANSITIONS.get(incident.status, ())),
    }


@router.get("/queue", include_in_schema=False)
def queue(request: Request, start: int = 0) -> Response:
    """Reports waiting for verification, oldest first, with duplicates beside each."""
    current = page(request, required="set_status")
    assert current.user is not None
    start = max(0, start)
    with reading(request) as session:
        ids, total = queue_ids(session, current.user, start=start, limit=QUEUE_PAGE)
        items = [queue_item(session, current.user, i) for i in ids]
    return render(
        current, "queue.html", items=items, total=total, start=start, more=start + len(items) < total
    )


def _done(current: Page, request: Request, incident_id: int, message: str) -> Response:
    if request.headers.get("hx-request"):
        with reading(request) as session:
            assert current.user is not None
            incident = service.get_incident(session, current.user, incident_id)
        return render(current, "_queue_done.html", incident=incident, message=message)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


def _failed(current: Page, request: Request, incident_id: int, error: Exception) -> Response:
    if isinstance(error, service.AccessDenied):
        raise PageError(403, current._("Not open to your role"), str(error))
    if isinstance(error, service.NotFound):
        raise PageError(404, current._("Report not found"), str(error))
    if request.headers.get("hx-request"):
        assert current.user is not None
        with reading(request) as session:
            item = queue_item(session, current.user, incident_id)
        current.flashes.append({"kind": "error", "text": str(error)})
        response = render(current, "_queue_item.html", status_code=200, item=item)
        return response
    raise PageError(409 if isinstance(error, service.Conflict) else 422, current._("Not done"), str(error))


def _decide(
    request: Request, incident_id: int, right: str, csrf: str, decide: Callable[[Page, Session], str]
) -> Response:
    """One decision from the queue or the report page: ``decide`` does it in a write session and says
    what was done; the answer is the queue item (htmx) or a redirect to the report."""
    current = page(request, required=right)
    check_csrf(current, request.headers.get("x-csrf-token") or csrf)
    try:
        with writing(request) as session:
            message = decide(current, session)
    except (InputError, service.AccessDenied) as error:
        return _failed(current, request, incident_id, error)
    return _done(current, request, incident_id, message)


@router.post("/incidents/{incident_id}/status", include_in_schema=False)
def set_status(
    request: Request,
    incident_id: int,
    status: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Corroborate, verify, reject (or reopen) a report, with the analyst's reason."""

    def decide(current: Page, session: Session) -> str:
        assert current.user is not None
        if not reason.strip():
            raise InputError(
                current._("Give a reason: say what corroborates, verifies or refutes the report.")
            )
        service.change_status(session, current.user, incident_id, status, reason)
        return current._(
            "Report %(id)s is now %(status)s. Reason: %(reason)s",
            id=incident_id,
            status=current.lang.gettext(_status_label(status)),
            reason=reason.strip(),
        )

    return _decide(request, incident_id, "set_status", csrf, decide)


@router.post("/incidents/{incident_id}/link", include_in_schema=False)
def link(
    request: Request,
    incident_id: int,
    other: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Form(max_length=5000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Link two reports of one incident; the best-graded one leads."""

    def decide(current: Page, session: Session) -> str:
        assert current.user is not None
        lead = service.link_incidents(
            session, current.user, incident_id, other, reason.strip() or current._("Same incident")
        )
        return current._(
            "Reports %(a)s and %(b)s are linked as one incident; report %(lead)s leads.",
            a=incident_id,
            b=other,
            lead=lead.id,
        )

    return _decide(request, incident_id, "link", csrf, decide)


def _status_label(status: str) -> str:
    from kalkan.register.pages._vocab import STATUS_LABELS

    return STATUS_LABELS.get(status, status)
