"""The pages of the mission's records beyond incident reports: sites and population figures, return
visits, joint patrols, detention visits and dispute cases (issue 18).

Each form is described once (:data:`FORMS`: its fields, their kind and label) and rendered by one
template; it posts to ``/mission/new/KIND``. The page's script (``mission.js``) keeps a filed record in
the device's outbox (IndexedDB) under its ``client_id`` until the register answers 201 or 200, so a
record filed without a connection is sent again later and never counted twice. Without JavaScript the
same post works and redirects to the record. Every rule is the service's (:mod:`kalkan.register.mission`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kalkan.errors import AccessDenied, Conflict, InputError, NotFound
from kalkan.register import mission
from kalkan.register.auth import Actor, can
from kalkan.register.i18n import display_zone
from kalkan.register.mission_schemas import (
    DetentionVisitIn,
    DisputeIn,
    DisputeStepIn,
    FigureIn,
    PatrolIn,
    ReturnVisitIn,
    SiteIn,
)
from kalkan.register.pages._report import DEFAULT_CENTER
from kalkan.register.pages._vocab import N_
from kalkan.register.pages._web import (
    Page,
    PageError,
    check_csrf,
    filed,
    page,
    reading,
    render,
    tile_url,
    writing,
)

router = APIRouter()

SITE_KINDS = {
    "camp": N_("Camp"),
    "collective_centre": N_("Collective centre"),
    "host_area": N_("Host area (families hosting the displaced)"),
    "border_crossing": N_("Border crossing"),
    "return_area": N_("Return area"),
    "out_of_area": N_("Out of the area (e.g. refugees across a border)"),
    "displaced": N_("Displaced in the whole area"),
}
PATROL_KINDS = {"joint_patrol": N_("Joint patrol"), "co_location": N_("Co-location at a police station")}
DETENTION_KINDS = {
    "police_station": N_("Police station"),
    "temporary_detention": N_("Temporary detention facility"),
    "pretrial_detention": N_("Pre-trial detention centre"),
    "prison": N_("Prison"),
    "other": N_("Other place of detention"),
}
DISPUTE_KINDS = {
    "property_land": N_("Property and land"),
    "return_to_home": N_("Return to homes"),
    "community_tension": N_("Community tension"),
}
DISPUTE_STATUSES = {
    "open": N_("Open"),
    "in_mediation": N_("In mediation"),
    "agreement": N_("Agreement reached"),
    "resolved": N_("Resolved"),
    "unresolved": N_("Closed unresolved"),
    "referred": N_("Referred (court or authorities)"),
}
PARTY_ROLES = {"claimant": N_("Claimant"), "respondent": N_("Respondent"), "other": N_("Other party")}


@dataclass(frozen=True)
class FormField:
    """One input of a mission form: its name (the schema's), kind, label, hint, and choices."""

    name: str
    kind: str  # text, textarea, number, date, datetime, select, checkbox, incidents, site
    label: str
    required: bool = False
    hint: str = ""
    choices: dict[str, str] | None = None
    step: str = "any"


@dataclass(frozen=True)
class Form:
    """A mission form: its title, the schema it fills, its fields, and which row groups it repeats."""

    title: str
    schema: type[BaseModel]
    fields: tuple[FormField, ...]
    people: bool = False  # rows of people met (sealed personal data)
    groups: bool = False  # rows of detainees by group
    parties: bool = False  # rows of dispute parties as groups or roles
    position: bool = True  # a map to pick the position


F = FormField
_POSITION = (
    F("latitude", "number", N_("Latitude (°N, WGS84)")),
    F("longitude", "number", N_("Longitude (°E, WGS84)")),
)
_INCIDENTS = F(
    "incident_ids",
    "incidents",
    N_("Linked incident reports (numbers, separated by commas)"),
    hint=N_("The reports of the incidents this record is about, e.g. 12, 15."),
)

FORMS: dict[str, Form] = {
    "site": Form(
        N_("File a site"),
        SiteIn,
        (
            F("kind", "select", N_("Kind of site"), True, choices=SITE_KINDS),
            F("name", "text", N_("Name"), True),
            *_POSITION,
            F("admin2", "text", N_("District it is in")),
            F(
                "from_units",
                "text",
                N_("Home districts of its people"),
                hint=N_("District names as the map shows them, separated by semicolons."),
            ),
            F("notes", "textarea", N_("Notes")),
        ),
    ),
    "figure": Form(
        N_("Add a population figure"),
        FigureIn,
        (
            F("site_id", "site", N_("Site"), True),
            F("as_of", "date", N_("Date the figure counts"), True),
            F(
                "group",
                "text",
                N_("Group counted"),
                hint=N_("The group as the source names it; “all” when not by group."),
            ),
            F("persons", "number", N_("People"), True, step="1"),
            F("households", "number", N_("Households"), step="1"),
            F("source", "text", N_("Source (who published the figure)"), True),
            F("source_url", "text", N_("Source address (URL)")),
            F("known_on", "date", N_("Date it was published"), hint=N_("Leave empty if the same day.")),
            F("estimate", "checkbox", N_("This figure is an estimate")),
            F("note", "textarea", N_("Note")),
        ),
        position=False,
    ),
    "return_visit": Form(
        N_("File a return-monitoring visit"),
        ReturnVisitIn,
        (
            F("site_id", "site", N_("Return area (if filed as a site)")),
            F("visited_on", "date", N_("Date of the visit"), True),
            *_POSITION,
            F("place_name", "text", N_("Place name (village, neighbourhood, street)")),
            F("households_back", "number", N_("Households back"), step="1"),
            F("homes_destroyed", "number", N_("Homes destroyed"), step="1"),
            F("homes_occupied", "number", N_("Homes occupied by others"), step="1"),
            F("concerns", "textarea", N_("Protection concerns (no names here)")),
            _INCIDENTS,
        ),
        people=True,
    ),
    "patrol": Form(
        N_("File a joint patrol or co-location"),
        PatrolIn,
        (
            F("kind", "select", N_("Kind"), True, choices=PATROL_KINDS),
            F("started_at", "datetime", N_("Started (local time)"), True),
            F("ended_at", "datetime", N_("Ended (local time)")),
            *_POSITION,
            F("radius_km", "number", N_("Area covered: radius in km"), hint=N_("Default 2 km.")),
            F("place_name", "text", N_("Place name (village, neighbourhood, street)")),
            F("mission_unit", "text", N_("Mission team (who)"), True),
            F("partner_unit", "text", N_("Host police unit (with whom)"), True),
            F("mission_staff", "number", N_("Mission staff"), step="1"),
            F("partner_staff", "number", N_("Police officers"), step="1"),
            F("notes", "textarea", N_("What was seen and done")),
        ),
    ),
    "detention_visit": Form(
        N_("File a detention visit"),
        DetentionVisitIn,
        (
            F("visited_on", "date", N_("Date of the visit"), True),
            F("facility", "text", N_("Place of detention"), True),
            F("facility_kind", "select", N_("Kind of place"), True, choices=DETENTION_KINDS),
            *_POSITION,
            F("interviewed", "number", N_("Detainees interviewed in private"), step="1"),
            F("allegations", "number", N_("Detainees alleging ill-treatment"), step="1"),
            F("access_refused", "checkbox", N_("Access was refused or restricted")),
            F("summary", "textarea", N_("Summary (no names here)")),
            _INCIDENTS,
        ),
        people=True,
        groups=True,
    ),
    "dispute": Form(
        N_("File a dispute case"),
        DisputeIn,
        (
            F("kind", "select", N_("Kind of dispute"), True, choices=DISPUTE_KINDS),
            F("opened_on", "date", N_("Date it came to the mission"), True),
            *_POSITION,
            F("place_name", "text", N_("Place name (village, neighbourhood, street)")),
            F("admin2", "text", N_("District")),
            F("summary", "textarea", N_("What the dispute is about (no names here)"), True),
            F("mediator", "text", N_("Mediator")),
            _INCIDENTS,
        ),
        people=True,
        parties=True,
    ),
}
STEP_FIELDS = (
    F("on", "date", N_("Date"), True),
    F("status", "select", N_("Status from that day"), True, choices=DISPUTE_STATUSES),
    F("note", "textarea", N_("What happened")),
    F("mediator", "text", N_("Mediator")),
    F("outcome", "textarea", N_("Outcome")),
)
LIST_TITLES = {
    "site": N_("Sites and population"),
    "return_visit": N_("Return-monitoring visits"),
    "patrol": N_("Joint patrols and co-location"),
    "detention_visit": N_("Detention visits"),
    "dispute": N_("Dispute cases"),
}
PEOPLE_ROWS, GROUP_ROWS, PARTY_ROWS = 3, 4, 3


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _local(text: str) -> str:
    """A ``datetime-local`` value as ISO with the register's display zone's offset."""
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        return naive.isoformat()
    return naive.replace(tzinfo=display_zone()).isoformat()


def record_from_form(kind: str, form: FormData, _: Any = str) -> BaseModel:
    """The schema object a submitted mission form describes (empty boxes: not known, left out).

    Raises :class:`pydantic.ValidationError` or :class:`kalkan.errors.InputError` naming the field.
    """
    spec = FORMS.get(kind)
    fields = spec.fields if spec is not None else STEP_FIELDS
    data: dict[str, Any] = {"client_id": _text(form, "client_id")}
    for field in fields:
        raw = _text(form, field.name)
        if field.kind == "checkbox":
            data[field.name] = bool(raw)
            continue
        if not raw:
            continue
        if field.kind in ("number", "site"):
            try:
                number = float(raw.replace(",", "."))
            except ValueError as error:
                raise InputError(
                    _("%(field)s: %(value)s is not a number.") % {"field": _(field.label), "value": raw}
                ) from error
            data[field.name] = int(number) if field.step == "1" or field.kind == "site" else number
        elif field.kind == "incidents":
            try:
                data[field.name] = [int(p) for p in raw.replace(";", ",").split(",") if p.strip()]
            except ValueError as error:
                raise InputError(
                    _("%(field)s: give report numbers separated by commas, e.g. 12, 15.")
                    % {"field": _(field.label)}
                ) from error
        elif field.kind == "datetime":
            try:
                data[field.name] = _local(raw)
            except ValueError as error:
                raise InputError(
                    _("%(field)s: %(value)s is not a date and time.")
                    % {"field": _(field.label), "value": raw}
                ) from error
        else:
            data[field.name] = raw
    if spec is None:
        return DisputeStepIn.model_validate(data)
    if spec.people:
        people = []
        for i in range(20):
            row = {k: _text(form, f"people.{i}.{k}") for k in ("name", "contact", "statement")}
            if any(row.values()):
                if not row["name"]:
                    raise InputError(
                        _("Person %(n)s has details but no name: add a name (or an alias) or clear the row.")
                        % {"n": i + 1}
                    )
                people.append({k: v for k, v in row.items() if v})
        if people:
            data["personal"] = {"people": people}
    if spec.groups:
        groups = []
        for i in range(20):
            group, count = _text(form, f"groups.{i}.group"), _text(form, f"groups.{i}.count")
            if group or count:
                try:
                    groups.append({"group": group, "count": int(count)})
                except ValueError as error:
                    raise InputError(
                        _("Detainees of %(group)s: %(value)s is not a whole number.")
                        % {"group": group or "?", "value": count}
                    ) from error
        data["detainees"] = groups
    if spec.parties:
        data["parties"] = [
            {"role": _text(form, f"parties.{i}.role") or "other", "group": _text(form, f"parties.{i}.group")}
            for i in range(20)
            if _text(form, f"parties.{i}.group")
        ]
    return spec.schema.model_validate(data)


def _message(current: Page, error: ValidationError, fields: tuple[FormField, ...]) -> str:
    labels = {f.name: current._(f.label) for f in fields}
    parts = []
    for item in error.errors()[:6]:
        loc = [str(p) for p in item["loc"]]
        name = labels.get(loc[0], ".".join(loc)) if loc else current._("Record")
        text = current._("this is required") if item["type"] == "missing" else item["msg"]
        parts.append(f"{name}: {text}")
    return "; ".join(parts)


def _form_context(current: Page, kind: str, values: dict[str, str] | None = None) -> dict[str, Any]:
    spec = FORMS[kind]
    sites: list[tuple[int, str]] = []
    if any(f.kind == "site" for f in spec.fields):
        assert current.user is not None
        with reading(current.request) as session:
            sites = [(s.id, s.name) for s in mission.list_sites(session, current.user, limit=500)]
    return {
        "kind": kind,
        "spec": spec,
        "fields": spec.fields,
        "sites": sites,
        "values": values or {},
        "client_id": str(uuid.uuid4()),
        "people_rows": PEOPLE_ROWS,
        "group_rows": GROUP_ROWS,
        "party_rows": PARTY_ROWS,
        "party_roles": PARTY_ROLES,
        "tile_url": tile_url(),
        "center": list(DEFAULT_CENTER),
        "js_messages": _js_messages(current),
    }


def _js_messages(current: Page) -> dict[str, str]:
    return {
        "queued": current._("Saved on this device; sending…"),
        "sent": current._("Filed: the register keeps it as number {id}."),
        "sent_again": current._(
            "Sent again after a lost answer: the register already had it as number {id}."
        ),
        "open": current._("Open it"),
        "waiting": current._(
            "{n} records are waiting on this device and will be sent when the register can be reached."
        ),
        "offline": current._(
            "The register cannot be reached. The record is kept on this device and sent again automatically."
        ),
        "rejected": current._("The register refused it: {detail}"),
        "signin": current._("Your session has ended: sign in again to send it."),
        "delete": current._("Delete from this device"),
    }


@router.get("/mission", include_in_schema=False)
def mission_home(request: Request) -> Response:
    """The mission's work at a glance: what to file, the latest records, disputes by area, people at
    sites as of a day."""
    current = page(request, required="read")
    assert current.user is not None
    as_of = _day(request.query_params.get("as_of")) or date.today()
    with reading(request) as session:
        summary = mission.dispute_summary(session, current.user, as_of=as_of)
        population = mission.population_as_of(session, current.user, as_of)
        counts = {
            "site": len(mission.list_sites(session, current.user, limit=500)),
            "return_visit": len(mission.list_return_visits(session, current.user, limit=500)),
            "patrol": len(mission.list_patrols(session, current.user, limit=500)),
            "detention_visit": len(mission.list_detention_visits(session, current.user, limit=500)),
            "dispute": len(mission.list_disputes(session, current.user, limit=500)),
        }
    return render(
        current,
        "mission.html",
        as_of=as_of,
        summary=summary,
        population=population,
        counts=counts,
        titles=LIST_TITLES,
        forms={k: f.title for k, f in FORMS.items()},
        site_kinds=SITE_KINDS,
    )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/mission/new/{kind}", include_in_schema=False)
def mission_form(request: Request, kind: str) -> Response:
    """An empty form for one kind of record (a fresh ``client_id`` each time)."""
    current = page(request, required="create")
    _known(current, kind)
    return render(current, "mission_form.html", **_form_context(current, kind))


def _known(current: Page, kind: str) -> None:
    if kind not in FORMS:
        raise PageError(404, current._("Not found"), current._("There is no such kind of record."))


#: How each kind of record is filed: (session, actor, record) -> (the record as stored, created); the
#: stored record is the kind's own answer model (SiteOut, FigureOut, ...), read by its fields below.
_FILE: dict[str, Callable[[Session, Actor, Any], tuple[Any, bool]]] = {
    "site": mission.create_site,
    "figure": mission.add_figure,
    "return_visit": mission.create_return_visit,
    "patrol": mission.create_patrol,
    "detention_visit": mission.create_detention_visit,
    "dispute": mission.create_dispute,
}


@router.post("/mission/new/{kind}", include_in_schema=False)
async def file_record(request: Request, kind: str) -> Response:
    """File a record (idempotent by ``client_id``): JSON for the page's script, a redirect otherwise."""
    current = page(request, required="create")
    _known(current, kind)
    wants_json = "application/json" in request.headers.get("accept", "")
    form = await request.form(max_files=0, max_fields=300)
    assert current.user is not None
    user = current.user
    try:
        check_csrf(current, request.headers.get("x-csrf-token") or _text(form, "csrf"))
        try:
            record = record_from_form(kind, form, current._)
        except ValidationError as error:
            raise InputError(_message(current, error, FORMS[kind].fields)) from error
        with writing(request) as session:
            out, created = _FILE[kind](session, user, record)
    except InputError as error:
        status = 409 if isinstance(error, Conflict) else 404 if isinstance(error, NotFound) else 422
        if wants_json:
            return JSONResponse({"detail": str(error)}, status_code=status)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        current.flashes.append({"kind": "error", "text": str(error)})
        context = _form_context(current, kind, values)
        context["client_id"] = values.get("client_id") or context["client_id"]
        return render(current, "mission_form.html", status_code=status, **context)
    shown = "site" if kind == "figure" else kind
    url = f"/mission/{shown}/{out.site_id if kind == 'figure' else out.id}"
    return filed(url, out.id, out.client_id, created, wants_json=wants_json)


_GET = {
    "site": mission.get_site,
    "return_visit": mission.get_return_visit,
    "patrol": mission.get_patrol,
    "detention_visit": mission.get_detention_visit,
    "dispute": mission.get_dispute,
}
#: How each kind of record is listed: (session, actor, limit=...) -> the records, newest first.
_LIST: dict[str, Callable[..., Sequence[BaseModel]]] = {
    "site": mission.list_sites,
    "return_visit": mission.list_return_visits,
    "patrol": mission.list_patrols,
    "detention_visit": mission.list_detention_visits,
    "dispute": mission.list_disputes,
}
# The columns of each list, in order (the field names of the records' answers).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "site": [("name", N_("Name")), ("kind", N_("Kind")), ("admin2", N_("District"))],
    "return_visit": [
        ("visited_on", N_("Date")),
        ("place_name", N_("Place")),
        ("households_back", N_("Households back")),
        ("homes_destroyed", N_("Homes destroyed")),
        ("homes_occupied", N_("Homes occupied")),
    ],
    "patrol": [
        ("started_at", N_("Started")),
        ("kind", N_("Kind")),
        ("place_name", N_("Place")),
        ("mission_unit", N_("Mission team")),
        ("partner_unit", N_("Host police unit")),
    ],
    "detention_visit": [
        ("visited_on", N_("Date")),
        ("facility", N_("Place of detention")),
        ("allegations", N_("Alleging ill-treatment")),
        ("access_refused", N_("Access refused")),
    ],
    "dispute": [
        ("opened_on", N_("Opened")),
        ("kind", N_("Kind")),
        ("place_name", N_("Place")),
        ("admin2", N_("District")),
        ("status", N_("Status")),
    ],
}


def _labels(current: Page) -> dict[str, str]:
    """Translated labels of every code a mission page shows."""
    codes = {
        **SITE_KINDS,
        **PATROL_KINDS,
        **DETENTION_KINDS,
        **DISPUTE_KINDS,
        **DISPUTE_STATUSES,
        **PARTY_ROLES,
    }
    return {code: current._(label) for code, label in codes.items()}


@router.get("/mission/{kind}", include_in_schema=False)
def record_list(request: Request, kind: str) -> Response:
    """The records of one kind, newest first (at most 500)."""
    current = page(request, required="read")
    if kind not in _LIST:
        raise PageError(404, current._("Not found"), current._("There is no such kind of record."))
    assert current.user is not None
    with reading(request) as session:
        rows = _LIST[kind](session, current.user, limit=500)
    return render(
        current,
        "mission_list.html",
        kind=kind,
        title=LIST_TITLES[kind],
        rows=rows,
        columns=COLUMNS[kind],
        labels=_labels(current),
        may_file=can(current.user, "create"),
        detail=kind in _GET,
    )


@router.get("/mission/{kind}/{record_id}", include_in_schema=False)
def record_page(request: Request, kind: str, record_id: str) -> Response:
    """One record with everything the user may see of it (a dispute with its steps and a step form)."""
    current = page(request, required="read")
    if kind not in _GET or not record_id.isdigit() or not 1 <= int(record_id) <= 2**31 - 1:
        raise PageError(
            404, current._("Not found"), current._("There is no such record, or it is not open to you.")
        )
    assert current.user is not None
    try:
        with reading(request) as session:
            record = _GET[kind](session, current.user, int(record_id))
    except NotFound as error:
        raise PageError(
            404, current._("Not found"), current._("There is no such record, or it is not open to you.")
        ) from error
    if request.query_params.get("filed") == "1":
        current.flashes.append({"kind": "ok", "text": current._("Filed.")})
    may_step = kind == "dispute" and (can(current.user, "set_status") or record.reporter == current.user.name)
    return render(
        current,
        "mission_record.html",
        kind=kind,
        record=record,
        record_fields=set(type(record).model_fields),
        title=LIST_TITLES[kind],
        fields=FORMS[kind].fields,
        labels=_labels(current),
        step_fields=STEP_FIELDS,
        may_step=may_step,
        client_id=str(uuid.uuid4()),
        values={},
        js_messages=_js_messages(current),
    )


@router.post("/mission/dispute/{dispute_id}/steps", include_in_schema=False)
async def add_step(request: Request, dispute_id: str) -> Response:
    """Record a dispute's next step (idempotent by ``client_id``)."""
    current = page(request, required="read")
    wants_json = "application/json" in request.headers.get("accept", "")
    if not dispute_id.isdigit() or not 1 <= int(dispute_id) <= 2**31 - 1:
        raise PageError(
            404, current._("Not found"), current._("There is no such record, or it is not open to you.")
        )
    form = await request.form(max_files=0, max_fields=50)
    assert current.user is not None
    user = current.user
    try:
        check_csrf(current, request.headers.get("x-csrf-token") or _text(form, "csrf"))
        try:
            step = record_from_form("step", form, current._)
        except ValidationError as error:
            raise InputError(_message(current, error, STEP_FIELDS)) from error
        with writing(request) as session:
            assert isinstance(step, DisputeStepIn)  # record_from_form("step") builds one
            out, created = mission.add_dispute_step(session, user, int(dispute_id), step)
    except InputError as error:
        status = 409 if isinstance(error, Conflict) else 422
        if wants_json:
            return JSONResponse({"detail": str(error)}, status_code=status)
        raise PageError(status, current._("Not recorded"), str(error)) from error
    except AccessDenied as error:
        if wants_json:
            return JSONResponse({"detail": str(error)}, status_code=403)
        raise PageError(403, current._("Not open to your role"), str(error)) from error
    url = f"/mission/dispute/{out.id}"
    return filed(url, out.id, str(step.client_id), created, wants_json=wants_json, say_filed=False)
