"""The list of reports (filters, keyset paging) and one report's page (history, evidence, audit)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from kalkan.errors import IntegrityError
from kalkan.register import audit, service
from kalkan.register.auth import Role, can
from kalkan.register.pages import _vocab
from kalkan.register.pages._web import Page, PageError, page, reading, render, writing
from kalkan.register.schemas import IncidentFilter

router = APIRouter()

PAGE_SIZE = 50
_FILTER_KEYS = (
    "status",
    "type",
    "date_from",
    "date_to",
    "q",
    "source_reliability",
    "min_lat",
    "max_lat",
    "min_lon",
    "max_lon",
    "leads_only",
    "security_forces",
)


def filters_from(current: Page, params: dict[str, str]) -> tuple[IncidentFilter, dict[str, str], str | None]:
    """The :class:`IncidentFilter` of the list's query string, the values to show in the form, and
    an error sentence when a value was wrong (the wrong filters are then dropped, not guessed)."""
    values = {k: params[k].strip() for k in _FILTER_KEYS if params.get(k, "").strip()}
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "source_reliability"}
    if "source_reliability" in values:
        data["source_reliability"] = [values["source_reliability"]]
    assert current.user is not None
    if not can(current.user, "read_all"):
        data["reporter"] = current.user.name  # a monitor's list is their own reports
    error = None
    try:
        filters = IncidentFilter.model_validate(data)
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        error = current._(
            "These filters were not understood and are ignored: %(names)s.", names=", ".join(bad)
        )
        for name in bad:
            data.pop(name, None)
            values.pop(name, None)
        filters = IncidentFilter.model_validate(data)
    return filters, values, error


class Pager:
    """Keyset paging for the templates: ``cursor`` ids, and the position for "51-100 of 10,000"."""

    def __init__(self, base: dict[str, str], start: int, shown: int, total: int, next_cursor: int | None):
        self.base, self.start, self.shown = base, start, shown
        self.total, self.next_cursor = total, next_cursor

    def first_url(self) -> str:
        return "?" + urlencode(self.base)

    def next_url(self) -> str | None:
        if self.next_cursor is None:
            return None
        return "?" + urlencode({**self.base, "cursor": self.next_cursor, "start": self.start + self.shown})


@router.get("/incidents", include_in_schema=False)
def incident_list(request: Request) -> Response:
    """Reports the user may see, newest first, with filters and paging."""
    current = page(request, required="read")
    params = dict(request.query_params)
    filters, values, error = filters_from(current, params)
    if error:
        current.flashes.append({"kind": "error", "text": error})
    try:
        cursor = int(params["cursor"]) if params.get("cursor") else None
        start = max(0, int(params.get("start", "0")))
    except ValueError:
        cursor, start = None, 0
    filters = filters.model_copy(
        update={"cursor": cursor if cursor and cursor > 0 else None, "limit": PAGE_SIZE}
    )
    assert current.user is not None
    with reading(request) as session:
        result = service.list_incidents(session, current.user, filters)
        total = service.count_incidents(session, current.user, filters)
    pager = Pager(values, start, len(result.items), total, result.next_cursor)
    return render(
        current,
        "incidents.html",
        incidents=result.items,
        pager=pager,
        values=values,
        event_types=_vocab.event_types(current.lang),
        statuses=[(code, current._(label)) for code, label in _vocab.STATUS_LABELS.items()],
        reliability=[str(g) for g in _vocab.RELIABILITY],
        own_only=not can(current.user, "read_all"),
    )


def _audit_rows(session: Any, incident_id: int, attachment_ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    entries = list(audit.iter_entries(session, entity="incident", entity_id=incident_id))
    for attachment_id in attachment_ids:
        entries += list(audit.iter_entries(session, entity="attachment", entity_id=attachment_id))
    for entry in sorted(entries, key=lambda e: e.seq):
        payload = json.loads(entry.payload)
        rows.append(
            {
                "seq": entry.seq,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "entity": entry.entity,
                "hash": entry.hash,
                "prev_hash": entry.prev_hash,
                "summary": _summary(payload),
            }
        )
    return rows


def _summary(payload: dict[str, Any]) -> str:
    keys = ("from", "to", "reason", "sha256", "filename", "lead", "members", "role", "user")
    shown = {k: payload[k] for k in keys if k in payload}
    if not shown and "event_type" in payload:
        shown = {"event_type": payload["event_type"], "status": payload.get("status")}
    return ", ".join(f"{k}: {v}" for k, v in shown.items())


@router.get("/incidents/{incident_id}", include_in_schema=False)
def incident_page(request: Request, incident_id: int) -> Response:
    """One report: what, where, victims, grades, witnesses (or why they are hidden), evidence, history,
    linked reports, duplicate candidates and the audit entries (admins)."""
    current = page(request, required="read")
    user = current.user
    assert user is not None
    with reading(request) as session:
        try:
            incident = service.get_incident(session, user, incident_id)
        except service.NotFound as error:
            raise PageError(404, current._("Report not found"), str(error)) from error
        candidates = []
        if can(user, "link") and incident.status != "rejected":
            candidates = service.duplicate_candidates(session, user, incident_id=incident_id, limit=10)
        others = {}
        for pair in candidates:
            other = pair.incident_b if pair.incident_a == incident_id else pair.incident_a
            others[other] = service.get_incident(session, user, other)
        audit_rows = (
            _audit_rows(session, incident_id, [a.id for a in incident.attachments])
            if can(user, "audit")
            else None
        )
    filed = request.query_params.get("filed")
    if filed == "1":
        current.flashes.append(
            {"kind": "ok", "text": current._("Report filed as number %(id)s.", id=incident.id)}
        )
    elif filed == "0":
        current.flashes.append(
            {
                "kind": "ok",
                "text": current._(
                    "The register already had this report (number %(id)s); nothing was counted twice.",
                    id=incident.id,
                ),
            }
        )
    if request.query_params.get("shared") == "1":
        current.flashes.append({"kind": "ok", "text": current._("Shared.")})
    if request.query_params.get("attached") == "1":
        current.flashes.append({"kind": "ok", "text": current._("Files attached.")})
    own = incident.reporter == user.name
    reliability = {str(g): current._(g.meaning) for g in _vocab.RELIABILITY}
    credibility = {str(g): current._(g.meaning) for g in _vocab.CREDIBILITY}
    return render(
        current,
        "incident.html",
        incident=incident,
        candidates=candidates,
        audit=audit_rows,
        reliability=reliability,
        credibility=credibility,
        outcomes=dict((c, current._(label)) for c, label in _vocab.VICTIM_OUTCOMES),
        sexes={"f": current._("female"), "m": current._("male"), "unknown": current._("unknown")},
        ages={
            "children": current._("children"),
            "adults": current._("adults"),
            "elderly": current._("elderly"),
            "unknown": current._("unknown"),
        },
        may_verify=can(user, "set_status"),
        may_link=can(user, "link"),
        may_open_evidence=can(user, "read_evidence"),
        may_share=can(user, "share") or own,
        may_attach=can(user, "attach") and (user.role is not Role.MONITOR or own),
        share_roles=[(code, current._(label)) for code, label in _vocab.ROLE_LABELS.items()],
        hidden_reason=_hidden_reason(current),
        in_queue=False,
        others=others,
        transitions=_vocab.moves(service.TRANSITIONS.get(incident.status, ())),
    )


def _hidden_reason(current: Page) -> str:
    """Why personal data is hidden from this user, in one sentence."""
    assert current.user is not None
    if current.user.role is Role.MONITOR:
        return current._("Witness details are hidden: monitors see them only in the reports they filed.")
    return current._(
        "Witness details are hidden: this report is restricted and has not been shared with "
        "you or your role (%(role)s). Its reporter, an investigator or an admin can share it.",
        role=current._(_vocab.ROLE_LABELS[current.user.role.value]),
    )


@router.get("/incidents/{incident_id}/attachments/{attachment_id}", include_in_schema=False)
def attachment(request: Request, incident_id: int, attachment_id: int) -> Response:
    """Download an evidence file (investigators, admins and its uploader), checked against its hash and
    its seal; the attachment must belong to the report in the path, and every opening enters the chain."""
    current = page(request, required="read")
    assert current.user is not None
    try:
        with writing(request) as session:
            meta, path = service.evidence_file(session, current.user, attachment_id, incident_id=incident_id)
            service.record_evidence_access(session, current.user, meta)
    except service.NotFound as error:
        raise PageError(404, current._("Evidence not found"), str(error)) from error
    except IntegrityError as error:
        raise PageError(500, current._("Evidence damaged"), str(error)) from error
    return FileResponse(
        path,
        media_type=meta.media_type,
        filename=meta.filename,
        headers={
            "X-Content-SHA256": meta.sha256,
            "Cache-Control": "no-store",
            # Evidence is shown as a download, never run as a page of this site.
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
        },
    )
