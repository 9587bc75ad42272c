"""The API routes of the mission's records (issue 18), added to the register's ``/api`` router.

Every ``POST`` that files a record answers 201 with the record, or 200 with the stored one when its
``client_id`` was seen before (a device's re-send after a lost answer); the same ``client_id`` with
another body is a 409 naming the stored record. Errors are the register's (401, 403, 404, 409, 422).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from kalkan.register import mission
from kalkan.register.app import ActorDep, json_response, register_of
from kalkan.register.mission_schemas import (
    DetentionVisitIn,
    DetentionVisitOut,
    DisputeIn,
    DisputeOut,
    DisputeStepIn,
    DisputeSummaryRow,
    FigureIn,
    FigureOut,
    PatrolIn,
    PatrolOut,
    PopulationRow,
    ReturnVisitIn,
    ReturnVisitOut,
    SiteIn,
    SiteOut,
)
from kalkan.register.schemas import IsoDate

__all__ = ["POPULATION_COLUMNS", "add_routes", "population_csv"]

IdPath = Annotated[int, Field(ge=1, le=2**31 - 1)]
Cursor = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=mission.MAX_LIST)]
DateQ = Annotated[IsoDate | None, Query()]
POPULATION_COLUMNS = list(PopulationRow.model_fields)


def population_csv(rows: list[PopulationRow]) -> str:
    """Population rows as CSV (the columns of :class:`PopulationRow`, one row per site and group)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POPULATION_COLUMNS)
    for row in rows:
        values = row.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in POPULATION_COLUMNS])
    return out.getvalue()


def add_routes(router: APIRouter) -> None:
    """Add the mission's routes to the register's ``/api`` router (called by :mod:`kalkan.register.app`)."""

    def write(request: Request, work: Callable[[Any], tuple[BaseModel, bool]]) -> Response:
        out, created = register_of(request).write_batched(work)
        return json_response(out, 201 if created else 200)

    stored: dict[int | str, dict[str, Any]] = {
        200: {"description": "Already stored (same client_id): the stored record."}
    }

    # --- sites and population -------------------------------------------------------------------
    @router.post("/sites", status_code=201, response_model=SiteOut, responses=stored, tags=["displacement"])
    def create_site(request: Request, site: SiteIn, actor: ActorDep) -> Response:
        """File a site: a camp, collective centre, border crossing or return area."""
        return write(request, lambda s: mission.create_site(s, actor, site))

    @router.get("/sites", response_model=list[SiteOut], tags=["displacement"])
    def list_sites(
        request: Request,
        actor: ActorDep,
        kind: Annotated[
            Literal["camp", "collective_centre", "border_crossing", "return_area"] | None, Query()
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> list[SiteOut]:
        """Sites, newest first, each with its population figures over time."""
        with register_of(request).read() as session:
            return mission.list_sites(session, actor, kind=kind, cursor=cursor, limit=limit)

    @router.get(
        "/sites/population",
        response_model=list[PopulationRow],
        responses={200: {"content": {"text/csv": {}}}},
        tags=["displacement"],
    )
    def population(
        request: Request,
        actor: ActorDep,
        as_of: Annotated[IsoDate, Query()],
        format: Annotated[Literal["json", "csv"], Query()] = "json",  # noqa: A002
    ) -> Response:
        """People at each site by group as of a date (newest figure on or before it, and the one
        before, for the change); ``format=csv`` for a scenario's displacement file."""
        with register_of(request).read() as session:
            rows = mission.population_as_of(session, actor, as_of)
        if format == "csv":
            return Response(population_csv(rows), media_type="text/csv; charset=utf-8")
        return Response(
            "[" + ",".join(r.model_dump_json() for r in rows) + "]", media_type="application/json"
        )

    @router.get(
        "/displacement",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "A scenario's displacement.csv."}},
        tags=["displacement"],
    )
    def displacement(request: Request, actor: ActorDep, as_of: DateQ = None) -> Response:
        """Every population figure in the columns of a scenario's displacement.csv (with ``as_of``:
        only figures counted and published by then), to feed the planner and the brief."""
        from kalkan.register.displacement import export_displacement

        with register_of(request).read() as session:
            text = export_displacement(session, actor, as_of=as_of)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="displacement.csv"'},
        )

    @router.get("/sites/{site_id}", response_model=SiteOut, tags=["displacement"])
    def get_site(request: Request, site_id: IdPath, actor: ActorDep) -> SiteOut:
        """One site with its figures."""
        with register_of(request).read() as session:
            return mission.get_site(session, actor, site_id)

    @router.post(
        "/figures", status_code=201, response_model=FigureOut, responses=stored, tags=["displacement"]
    )
    def add_figure(request: Request, figure: FigureIn, actor: ActorDep) -> Response:
        """File one population figure of a site: a group, a date, a count and its source."""
        return write(request, lambda s: mission.add_figure(s, actor, figure))

    @router.post(
        "/return-visits",
        status_code=201,
        response_model=ReturnVisitOut,
        responses=stored,
        tags=["displacement"],
    )
    def create_return_visit(request: Request, visit: ReturnVisitIn, actor: ActorDep) -> Response:
        """File a return-monitoring visit, linked to the protection incidents on return it found."""
        return write(request, lambda s: mission.create_return_visit(s, actor, visit))

    @router.get("/return-visits", response_model=list[ReturnVisitOut], tags=["displacement"])
    def list_return_visits(
        request: Request,
        actor: ActorDep,
        site_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        date_from: DateQ = None,
        date_to: DateQ = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> list[ReturnVisitOut]:
        """Return-monitoring visits, newest first."""
        with register_of(request).read() as session:
            return mission.list_return_visits(
                session,
                actor,
                site_id=site_id,
                date_from=date_from,
                date_to=date_to,
                cursor=cursor,
                limit=limit,
            )

    @router.get("/return-visits/{visit_id}", response_model=ReturnVisitOut, tags=["displacement"])
    def get_return_visit(request: Request, visit_id: IdPath, actor: ActorDep) -> ReturnVisitOut:
        """One return-monitoring visit (interviewees' names for its reporter and admins only)."""
        with register_of(request).read() as session:
            return mission.get_return_visit(session, actor, visit_id)

    # --- patrols and detention visits -------------------------------------------------------------
    @router.post(
        "/patrols", status_code=201, response_model=PatrolOut, responses=stored, tags=["host police"]
    )
    def create_patrol(request: Request, patrol: PatrolIn, actor: ActorDep) -> Response:
        """File a joint patrol or co-location shift (who, where, when, with whom)."""
        return write(request, lambda s: mission.create_patrol(s, actor, patrol))

    @router.get("/patrols", response_model=list[PatrolOut], tags=["host police"])
    def list_patrols(
        request: Request,
        actor: ActorDep,
        date_from: DateQ = None,
        date_to: DateQ = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> list[PatrolOut]:
        """Joint patrols and co-location shifts, newest first."""
        with register_of(request).read() as session:
            return mission.list_patrols(
                session, actor, date_from=date_from, date_to=date_to, cursor=cursor, limit=limit
            )

    @router.get("/patrols/coverage", tags=["host police"])
    def coverage(
        request: Request,
        actor: ActorDep,
        date_from: Annotated[IsoDate, Query()],
        date_to: Annotated[IsoDate, Query()],
        days: Annotated[int, Query(ge=0, le=30)] = 1,
        security_forces: Annotated[bool | None, Query()] = None,
    ) -> dict[str, Any]:
        """Incidents of a period with and without a patrol near them in space and time (coverage gaps)."""
        with register_of(request).read() as session:
            return mission.patrol_coverage(
                session,
                actor,
                date_from=date_from,
                date_to=date_to,
                days=days,
                security_forces=security_forces,
            )

    @router.get("/patrols/{patrol_id}", response_model=PatrolOut, tags=["host police"])
    def get_patrol(request: Request, patrol_id: IdPath, actor: ActorDep) -> PatrolOut:
        """One joint patrol or co-location shift."""
        with register_of(request).read() as session:
            return mission.get_patrol(session, actor, patrol_id)

    @router.post(
        "/detention-visits",
        status_code=201,
        response_model=DetentionVisitOut,
        responses=stored,
        tags=["host police"],
    )
    def create_detention_visit(request: Request, visit: DetentionVisitIn, actor: ActorDep) -> Response:
        """File a detention visit: detainees seen by group, allegations of ill-treatment (names sealed)."""
        return write(request, lambda s: mission.create_detention_visit(s, actor, visit))

    @router.get("/detention-visits", response_model=list[DetentionVisitOut], tags=["host police"])
    def list_detention_visits(
        request: Request,
        actor: ActorDep,
        date_from: DateQ = None,
        date_to: DateQ = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> list[DetentionVisitOut]:
        """Detention visits the caller may see (a monitor: their own), newest first."""
        with register_of(request).read() as session:
            return mission.list_detention_visits(
                session, actor, date_from=date_from, date_to=date_to, cursor=cursor, limit=limit
            )

    @router.get("/detention-visits/{visit_id}", response_model=DetentionVisitOut, tags=["host police"])
    def get_detention_visit(request: Request, visit_id: IdPath, actor: ActorDep) -> DetentionVisitOut:
        """One detention visit."""
        with register_of(request).read() as session:
            return mission.get_detention_visit(session, actor, visit_id)

    # --- disputes ---------------------------------------------------------------------------------
    @router.post("/disputes", status_code=201, response_model=DisputeOut, responses=stored, tags=["disputes"])
    def create_dispute(request: Request, dispute: DisputeIn, actor: ActorDep) -> Response:
        """File a dispute case (property and land, return to homes, community tension)."""
        return write(request, lambda s: mission.create_dispute(s, actor, dispute))

    @router.get("/disputes", response_model=list[DisputeOut], tags=["disputes"])
    def list_disputes(
        request: Request,
        actor: ActorDep,
        status: Annotated[
            Literal["open", "in_mediation", "agreement", "resolved", "unresolved", "referred"] | None, Query()
        ] = None,
        kind: Annotated[
            Literal["property_land", "return_to_home", "community_tension"] | None, Query()
        ] = None,
        area: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> list[DisputeOut]:
        """Dispute cases, newest first."""
        with register_of(request).read() as session:
            return mission.list_disputes(
                session, actor, status=status, kind=kind, area=area, cursor=cursor, limit=limit
            )

    @router.get("/disputes/summary", response_model=list[DisputeSummaryRow], tags=["disputes"])
    def dispute_summary(
        request: Request,
        actor: ActorDep,
        as_of: Annotated[IsoDate, Query()],
        by: Annotated[Literal["admin1", "admin2"], Query()] = "admin2",
        days: Annotated[int, Query(ge=0, le=366)] = 7,
    ) -> list[DisputeSummaryRow]:
        """Open, resolved and unresolved cases by area as of a date (what a weekly brief shows)."""
        with register_of(request).read() as session:
            return mission.dispute_summary(session, actor, as_of=as_of, by=by, days=days)

    @router.get("/disputes/{dispute_id}", response_model=DisputeOut, tags=["disputes"])
    def get_dispute(request: Request, dispute_id: IdPath, actor: ActorDep) -> DisputeOut:
        """One dispute with its steps over time."""
        with register_of(request).read() as session:
            return mission.get_dispute(session, actor, dispute_id)

    @router.post(
        "/disputes/{dispute_id}/steps",
        status_code=201,
        response_model=DisputeOut,
        responses=stored,
        tags=["disputes"],
    )
    def add_step(request: Request, dispute_id: int, step: DisputeStepIn, actor: ActorDep) -> Response:
        """Record a dispute's next step (status, note, mediator, outcome); idempotent by client_id."""
        return write(request, lambda s: mission.add_dispute_step(s, actor, dispute_id, step))
