"""What the API accepts and answers for the mission's records beyond incident reports (issue 18).

Displacement and return (sites, their population by group over time, return-monitoring visits), the
assistance to the host police and the watch over it (joint patrols and co-location, detention visits)
and local dispute cases. Like :mod:`kalkan.register.schemas`: unknown fields are refused, every text
refuses NUL characters, every number has bounds, every record carries the ``client_id`` its device
made, so a re-send never files it twice. Personal data (people interviewed on return, detainees, the
parties of a dispute) goes in ``personal`` and is sealed like witness data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from kalkan.register.schemas import (
    EARLIEST,
    NO_NUL,
    Count,
    IsoDate,
    JsonBool,
    Latitude,
    Long,
    Longitude,
    Name,
    Short,
    _aware,
    _clean,
    _integer,
    _iso_datetime,
    _number,
    _Strict,
)

__all__ = [
    "DETENTION_KINDS",
    "DISPUTE_KINDS",
    "DISPUTE_STATUSES",
    "OPEN_STATUSES",
    "PATROL_KINDS",
    "POINT_KINDS",
    "SITE_KINDS",
    "DetentionVisitIn",
    "DetentionVisitOut",
    "DisputeIn",
    "DisputeOut",
    "DisputeStepIn",
    "DisputeStepOut",
    "DisputeSummaryRow",
    "FigureIn",
    "FigureOut",
    "PatrolIn",
    "PatrolOut",
    "PopulationRow",
    "ReturnVisitIn",
    "ReturnVisitOut",
    "SiteIn",
    "SiteOut",
]

SITE_KINDS = (
    "camp",
    "collective_centre",
    "host_area",
    "border_crossing",
    "return_area",
    "out_of_area",
    "displaced",
)
#: Kinds of site that are one place, with a point (the others may have none).
POINT_KINDS = ("camp", "collective_centre", "host_area", "border_crossing")
PATROL_KINDS = ("joint_patrol", "co_location")
DETENTION_KINDS = ("police_station", "temporary_detention", "pretrial_detention", "prison", "other")
DISPUTE_KINDS = ("property_land", "return_to_home", "community_tension")
DISPUTE_STATUSES = ("open", "in_mediation", "agreement", "resolved", "unresolved", "referred")
#: Statuses of a dispute still being worked on (counted "open" in a summary).
OPEN_STATUSES = ("open", "in_mediation", "agreement")

SiteKind = Literal[
    "camp", "collective_centre", "host_area", "border_crossing", "return_area", "out_of_area", "displaced"
]
PatrolKind = Literal["joint_patrol", "co_location"]
DetentionKind = Literal["police_station", "temporary_detention", "pretrial_detention", "prison", "other"]
DisputeKind = Literal["property_land", "return_to_home", "community_tension"]
DisputeStatus = Literal["open", "in_mediation", "agreement", "resolved", "unresolved", "referred"]
PartyRole = Literal["claimant", "respondent", "other"]
Iso3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Url = Annotated[str, Field(max_length=500, pattern=r"^https?://[^\s\x00]+$"), AfterValidator(_clean)]
RecordId = Annotated[int, BeforeValidator(_integer), Field(ge=1, le=2**31 - 1)]
IncidentIds = Annotated[list[RecordId], Field(max_length=50)]
Radius = Annotated[float, BeforeValidator(_number), Field(gt=0, le=100, allow_inf_nan=False)]
Moment = Annotated[datetime, BeforeValidator(_iso_datetime), AfterValidator(_aware)]


def _recent(day: date, what: str) -> None:
    latest = date.today() + timedelta(days=1)
    if not EARLIEST <= day <= latest:
        raise ValueError(f"{what} {day} is outside {EARLIEST} .. {latest}: check the date")


class Person(_Strict):
    """Someone met on a visit (an interviewee, a detainee, a party): sealed, shown only by role."""

    name: Name
    contact: Short | None = None
    statement: Long | None = None


class RecordPersonal(_Strict):
    """The personal data of a mission record: never in clear in the database, exports or briefs."""

    people: Annotated[list[Person], Field(max_length=100)] = []


class _Record(_Strict):
    client_id: UUID
    incident_ids: IncidentIds = []
    personal: RecordPersonal | None = None


# --- displacement and return ----------------------------------------------------------------------


class SiteIn(_Strict):
    """Where displaced or returning people are counted (the kinds of a scenario's displacement.csv):
    a camp, collective centre, host area or border crossing (a point is required), a return area,
    a place out of the area, or the area's displaced as a whole. ``admin2`` is the district it is in,
    ``from_units`` the home districts of its people (``;``-separated)."""

    client_id: UUID
    kind: SiteKind
    name: Name
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    country_iso3: Iso3 | None = None
    admin1: Short | None = None
    admin2: Short | None = None
    from_units: Annotated[str, Field(max_length=1000, pattern=NO_NUL), AfterValidator(_clean)] = ""
    notes: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> SiteIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.kind in POINT_KINDS and self.latitude is None:
            raise ValueError(f"a site of kind {self.kind} is one place: give its latitude and longitude")
        return self


class FigureIn(_Strict):
    """How many people of one group were at a site on a date, and who published the figure.

    Name the site by ``site_id``, or by ``site_client_id`` when the site was filed from the same
    device and may not have reached the register yet (offline).
    """

    client_id: UUID
    site_id: RecordId | None = None
    site_client_id: UUID | None = None
    as_of: IsoDate
    group: Name = "all"
    persons: Count
    households: Count | None = None
    source: Name
    source_url: Url | None = None
    source_id: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9_.;-]*$")] | None = None
    known_on: IsoDate | None = None
    estimate: JsonBool = False
    note: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> FigureIn:
        if (self.site_id is None) == (self.site_client_id is None):
            raise ValueError("name the site by exactly one of site_id or site_client_id")
        _recent(self.as_of, "as_of")
        if self.known_on is not None and not self.as_of <= self.known_on <= date.today() + timedelta(days=1):
            raise ValueError(
                f"known_on {self.known_on} must be on or after as_of {self.as_of} and not later than tomorrow"
            )
        return self


class ReturnVisitIn(_Record):
    """A return-monitoring visit; ``incident_ids`` are the protection incidents on return it found
    (already filed as incident reports)."""

    site_id: RecordId | None = None
    visited_on: IsoDate
    latitude: Latitude
    longitude: Longitude
    place_name: Short | None = None
    households_back: Count | None = None
    homes_destroyed: Count | None = None
    homes_occupied: Count | None = None
    concerns: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> ReturnVisitIn:
        _recent(self.visited_on, "visited_on")
        return self


# --- host police: joint patrols and detention visits -------------------------------------------------


class PatrolIn(_Strict):
    """A joint patrol or a co-location shift: the mission's team (who) with the host police unit
    (with whom), where (a centre and the radius it covered) and when."""

    client_id: UUID
    kind: PatrolKind
    started_at: Moment
    ended_at: Moment | None = None
    latitude: Latitude
    longitude: Longitude
    radius_km: Radius = 2.0
    place_name: Short | None = None
    mission_unit: Name
    partner_unit: Name
    mission_staff: Count | None = None
    partner_staff: Count | None = None
    notes: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> PatrolIn:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError(f"ended_at {self.ended_at} is before started_at {self.started_at}")
        return self


class Detainees(_Strict):
    """Detainees seen of one group."""

    group: Name
    count: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000)]


class DetentionVisitIn(_Record):
    """A visit to a place of detention. ``allegations`` counts detainees who alleged ill-treatment;
    their names and accounts go in ``personal`` (sealed), never in ``summary``."""

    visited_on: IsoDate
    facility: Name
    facility_kind: DetentionKind = "police_station"
    latitude: Latitude
    longitude: Longitude
    detainees: Annotated[list[Detainees], Field(max_length=50)] = []
    interviewed: Count | None = None
    allegations: Count = 0
    access_refused: JsonBool = False
    summary: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> DetentionVisitIn:
        _recent(self.visited_on, "visited_on")
        seen = sum(d.count for d in self.detainees)
        if self.interviewed is not None and self.detainees and self.interviewed > seen:
            raise ValueError(f"interviewed {self.interviewed} is more than the {seen} detainees seen")
        return self


# --- disputes ---------------------------------------------------------------------------------------


class Party(_Strict):
    """A party to a dispute as a group or a role (never a name: names go in ``personal``)."""

    role: PartyRole
    group: Name


class DisputeIn(_Record):
    """A dispute case the mission follows; it starts ``open``."""

    kind: DisputeKind
    opened_on: IsoDate
    latitude: Latitude
    longitude: Longitude
    place_name: Short | None = None
    admin1: Short | None = None
    admin2: Short | None = None
    parties: Annotated[list[Party], Field(max_length=20)] = []
    summary: Annotated[str, Field(min_length=1, max_length=20_000, pattern=NO_NUL), AfterValidator(_clean)]
    mediator: Short | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DisputeIn:
        _recent(self.opened_on, "opened_on")
        return self


class DisputeStepIn(_Strict):
    """A dispute's next step: its status from ``on``, what happened, the mediator and the outcome."""

    client_id: UUID
    on: IsoDate
    status: DisputeStatus
    note: Long = ""
    mediator: Short | None = None
    outcome: Long = ""

    @model_validator(mode="after")
    def _consistent(self) -> DisputeStepIn:
        _recent(self.on, "on")
        return self


# --- answers -------------------------------------------------------------------------------------------


class _Out(BaseModel):
    id: int
    client_id: str
    reporter: str
    received_at: datetime
    updated_at: datetime


class _PersonalOut(_Out):
    incident_ids: list[int]
    personal: RecordPersonal | None
    personal_redacted: bool


class FigureOut(_Out):
    """One population figure of a site."""

    site_id: int
    as_of: date
    group: str
    persons: int
    households: int | None
    source: str
    source_url: str | None
    source_id: str | None
    known_on: date | None
    estimate: bool
    note: str


class SiteOut(_Out):
    """A site with its figures, oldest first."""

    kind: str
    name: str
    latitude: float | None
    longitude: float | None
    country_iso3: str | None
    admin1: str | None
    admin2: str | None
    from_units: str
    notes: str
    figures: list[FigureOut] = []


class ReturnVisitOut(_PersonalOut):
    """A return-monitoring visit as the caller may see it."""

    site_id: int | None
    visited_on: date
    latitude: float
    longitude: float
    place_name: str | None
    households_back: int | None
    homes_destroyed: int | None
    homes_occupied: int | None
    concerns: str


class PatrolOut(_Out):
    """A joint patrol or co-location shift."""

    kind: str
    started_at: datetime
    ended_at: datetime | None
    latitude: float
    longitude: float
    radius_km: float
    place_name: str | None
    mission_unit: str
    partner_unit: str
    mission_staff: int | None
    partner_staff: int | None
    notes: str


class DetentionVisitOut(_PersonalOut):
    """A detention visit as the caller may see it (detainees' names only for its reporter and admins)."""

    visited_on: date
    facility: str
    facility_kind: str
    latitude: float
    longitude: float
    detainees: list[Detainees]
    interviewed: int | None
    allegations: int
    access_refused: bool
    summary: str


class DisputeStepOut(BaseModel):
    """One step of a dispute."""

    id: int
    client_id: str
    on: date
    from_status: str
    to_status: str
    note: str
    mediator: str | None
    outcome: str
    by: str
    received_at: datetime


class DisputeOut(_PersonalOut):
    """A dispute case with its steps, oldest first."""

    kind: str
    opened_on: date
    latitude: float
    longitude: float
    place_name: str | None
    admin1: str | None
    admin2: str | None
    parties: list[Party]
    summary: str
    mediator: str | None
    status: str
    outcome: str
    steps: list[DisputeStepOut] = []


class PopulationRow(BaseModel):
    """One site's people of one group as of a date: the newest figure on or before it, and the one
    before that (for the change)."""

    site_id: int
    site: str
    kind: str
    latitude: float | None
    longitude: float | None
    country_iso3: str | None
    admin1: str | None
    admin2: str | None
    group: str
    persons: int
    households: int | None
    figure_date: date
    source: str
    source_url: str | None
    previous_persons: int | None
    previous_date: date | None


class DisputeSummaryRow(BaseModel):
    """Dispute cases of one area as of a date: open (being worked on), resolved, closed without
    resolution (unresolved or referred), and opened in the last ``days``."""

    area: str
    open: int
    resolved: int
    closed_unresolved: int
    opened_recently: int
    total: int
