"""The report form: a monitor files a report from the browser, online or after a lost connection.

The form posts ``multipart/form-data`` (fields and files) to ``POST /report``. The page's script
sends it with ``Accept: application/json`` and keeps it in the device's outbox until this answers
201 (new) or 200 (the ``client_id`` was seen before: the same incident, nothing created). Without
JavaScript the same post works and redirects to the new report. Files are attached in the same
transaction as the report; on a re-send, files already attached (same SHA-256) are not attached twice.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from kalkan.errors import InputError
from kalkan.register import service
from kalkan.register.pages import _vocab
from kalkan.register.pages._web import Page, check_csrf, filed, page, render, tile_url, writing
from kalkan.register.schemas import IncidentIn

router = APIRouter()

MAX_FILES = 20
_WITNESS = re.compile(r"^witnesses\.(\d{1,2})\.(name|contact|statement)$")
_VICTIM = re.compile(r"^victims\.(\w+)\.(\w+)$")
_OUTCOMES = {code for code, _ in _vocab.VICTIM_OUTCOMES}
_GROUPS = {key: (sex, age) for key, _, sex, age in _vocab.VICTIM_GROUPS}
_TEXT_FIELDS = ("place_name", "victim_group", "perpetrator")
_NUMBER_FIELDS = ("latitude", "longitude", "captured_latitude", "captured_longitude")
# Map centre and zoom when nothing is picked yet: still the default scenario's area, hard-coded (to derive).
DEFAULT_CENTER = (40.75, 72.95, 8)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def report_from_form(form: FormData, lang_gettext: Callable[[str], str] = str) -> IncidentIn:
    """The :class:`IncidentIn` a submitted report form describes.

    Empty boxes mean "not known" (left out), victims become one entry per outcome and group with a
    count, witnesses with any detail need a name, and a time of day, which the schema has no field
    for, is kept at the head of the description. Raises :class:`pydantic.ValidationError` or
    :class:`kalkan.errors.InputError` with a message that names the field, in the language of
    ``lang_gettext`` (the page's translation function; English by default).
    """
    _ = lang_gettext
    data: dict[str, Any] = {}
    for name in (
        "client_id",
        "type",
        "date_start",
        "latitude",
        "longitude",
        "source_reliability",
        "information_credibility",
        "captured_at",
        "captured_latitude",
        "captured_longitude",
        *_TEXT_FIELDS,
    ):
        value = _text(form, name)
        if value:
            data[name] = value
    for name in _NUMBER_FIELDS:
        if name in data:
            try:
                data[name] = float(data[name].replace(",", "."))
            except ValueError as error:
                raise InputError(
                    _("%(field)s: %(value)s is not a number; use decimal degrees, e.g. 40.53.")
                    % {"field": name, "value": data[name]}
                ) from error
    description = _text(form, "description")
    at = _text(form, "time")
    if at:
        try:
            parsed = time.fromisoformat(at)
        except ValueError as error:
            raise InputError(
                _("Time %(value)s is not a time of day: use HH:MM, e.g. 14:30.") % {"value": at}
            ) from error
        description = f"[{parsed:%H:%M} local time] {description}" if description else ""
    data["description"] = description
    victims = []
    for key in form.keys():
        match = _VICTIM.match(key)
        if not match:
            continue
        outcome, group = match.groups()
        raw = _text(form, key)
        if not raw:
            continue
        if outcome not in _OUTCOMES or group not in _GROUPS:
            raise InputError(_("Victim box %(name)s is unknown: reload the form.") % {"name": key})
        try:
            count = int(raw)
        except ValueError as error:
            raise InputError(
                _("Victims %(name)s: %(value)s is not a whole number.")
                % {"name": f"{outcome}/{group}", "value": raw}
            ) from error
        if count < 0:
            raise InputError(
                _("Victims %(name)s: %(value)s is negative; give 0 or more.")
                % {"name": f"{outcome}/{group}", "value": raw}
            )
        if count:
            sex, age = _GROUPS[group]
            victims.append({"category": outcome, "sex": sex, "age_group": age, "count": count})
    data["victims"] = victims
    witnesses: dict[int, dict[str, str]] = defaultdict(dict)
    for key in form.keys():
        match = _WITNESS.match(key)
        if match and _text(form, key):
            witnesses[int(match.group(1))][match.group(2)] = _text(form, key)
    people = []
    for number, (_index, fields) in enumerate(sorted(witnesses.items()), start=1):
        if "name" not in fields:
            raise InputError(
                _("Witness %(n)s has details but no name: add a name (or an alias) or clear the row.")
                % {"n": number}
            )
        people.append(fields)
    if people:
        data["personal"] = {"witnesses": people}
    return IncidentIn.model_validate(data)


def validation_message(current: Page, error: ValidationError) -> str:
    """One readable sentence per wrong field, in the page's language where the words are ours."""
    names = {
        "client_id": current._("Report id"),
        "type": current._("Type"),
        "date_start": current._("Date"),
        "latitude": current._("Latitude"),
        "longitude": current._("Longitude"),
        "source_reliability": current._("Source reliability"),
        "information_credibility": current._("Information credibility"),
        "description": current._("Description"),
        "captured_at": current._("Capture time"),
    }
    parts = []
    for item in error.errors()[:6]:
        loc = [str(p) for p in item["loc"]]
        field = names.get(loc[0], ".".join(loc)) if loc else current._("Report")
        message = item["msg"]
        empty = bool(loc) and loc[0] == "description" and item["type"] == "string_too_short"
        if item["type"] == "missing" or empty:
            message = current._("this is required")
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _form_context(current: Page, values: dict[str, Any] | None = None) -> dict[str, Any]:
    lang = current.lang
    reliability, credibility = _vocab.grades(lang)
    messages = {
        "draft_restored": current._("Your unsent draft was restored."),
        "queued": current._("Saved on this device; sending…"),
        "sent": current._("Report sent: the register filed it as number {id}."),
        "sent_again": current._(
            "Report sent again after a lost answer: the register already had it as "
            "number {id}; nothing was counted twice."
        ),
        "open_report": current._("Open it"),
        "outbox_item": current._("{type}, {date} ({files} files)"),
        "outbox_waiting": current._(
            "{n} reports are waiting on this device and will be sent "
            "automatically when the register can be reached."
        ),
        "outbox_offline": current._(
            "The register cannot be reached. Your reports are kept on this "
            "device and will be sent again automatically."
        ),
        "outbox_delete": current._("Delete from this device"),
        "outbox_delete_confirm": current._(
            "Delete this unsent report from this device? It has not "
            "reached the register and cannot be recovered."
        ),
        "outbox_edit": current._("Correct and send again"),
        "error_network": current._("no connection"),
        "error_server": current._("the register answered with error {status}; will retry"),
        "error_rejected": current._("the register refused it (error {status})"),
        "error_signin": current._("your session has ended: sign in again to send it"),
        "error_position": current._("The device did not give a position: pick it on the map or type it."),
    }
    return {
        "event_types": _vocab.event_types(lang),
        "reliability": reliability,
        "credibility": credibility,
        "victim_outcomes": [(code, lang.gettext(label)) for code, label in _vocab.VICTIM_OUTCOMES],
        "victim_groups": [(key, lang.gettext(label)) for key, label, _s, _a in _vocab.VICTIM_GROUPS],
        "client_id": str(uuid.uuid4()),
        "values": values or {},
        "witness_rows": 1,
        "center": list(DEFAULT_CENTER),
        "tile_url": tile_url(),
        "js_messages": messages,
    }


@router.get("/report", include_in_schema=False)
def report_form(request: Request) -> Response:
    """The empty report form (a fresh ``client_id`` each time it is rendered)."""
    current = page(request, required="create")
    return render(current, "report.html", **_form_context(current))


async def uploads(form: FormData) -> list[tuple[UploadFile, str]]:
    """The files of the form's ``attachments`` field, each with its SHA-256 (hex)."""
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and (f.filename or f.size)]
    if len(files) > MAX_FILES:
        raise InputError(
            f"{len(files)} files were attached; at most {MAX_FILES} go in one upload: "
            "attach the rest on the report's page afterwards."
        )
    out = []
    for upload in files:
        digest = hashlib.sha256()
        await upload.seek(0)
        while chunk := await upload.read(1024 * 1024):
            digest.update(chunk)
        await upload.seek(0)
        out.append((upload, digest.hexdigest()))
    return out


@router.post("/report", include_in_schema=False)
async def submit_report(request: Request) -> Response:
    """File the report (idempotent by ``client_id``); JSON for the page's script, a redirect otherwise."""
    current = page(request, required="create")
    wants_json = "application/json" in request.headers.get("accept", "")
    form = await request.form(max_files=MAX_FILES + 1, max_fields=400)
    try:
        check_csrf(current, request.headers.get("x-csrf-token") or _text(form, "csrf"))
        try:
            report = report_from_form(form, current._)
        except ValidationError as error:
            raise InputError(validation_message(current, error)) from error
        files = await uploads(form)
        assert current.user is not None
        with writing(request) as session:
            incident, created = service.create_incident(session, current.user, report)
            if files:
                known = (
                    set()
                    if created
                    else {
                        a.sha256 for a in service.get_incident(session, current.user, incident.id).attachments
                    }
                )
                for upload, sha in files:
                    if sha in known:
                        continue
                    known.add(sha)
                    service.attach_evidence(
                        session,
                        current.user,
                        incident.id,
                        filename=upload.filename or "evidence",
                        media_type=upload.content_type or "application/octet-stream",
                        stream=upload.file,
                    )
    except InputError as error:
        status = 409 if isinstance(error, service.Conflict) else 422
        if wants_json:
            return JSONResponse({"detail": str(error)}, status_code=status)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        current.flashes.append({"kind": "error", "text": str(error)})
        return render(
            current,
            "report.html",
            status_code=status,
            **{**_form_context(current, values), "client_id": values.get("client_id") or str(uuid.uuid4())},
        )
    finally:
        await form.close()
    return filed(f"/incidents/{incident.id}", incident.id, incident.client_id, created, wants_json=wants_json)
