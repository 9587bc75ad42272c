"""The register's request and result objects (Pydantic): what the API accepts and answers.

The service layer takes and returns these, so the API, the web pages and the CLI share one set of
validation rules. Every text field refuses NUL characters and unpaired surrogates (PostgreSQL cannot
store them), every number has bounds, and unknown fields are refused, so bad input gets a 4xx that
names the field instead of a server error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    model_validator,
)

from kalkan.model import ActorType, DatePrecision, EventType, InformationCredibility, LocationPrecision
from kalkan.model import SourceReliability as Reliability

__all__ = [
    "AttachmentOut",
    "BulkItemResult",
    "BulkResult",
    "DuplicateCandidate",
    "IncidentDetail",
    "IncidentFilter",
    "IncidentIn",
    "IncidentOut",
    "IncidentPage",
    "LinkIn",
    "PersonalData",
    "ShareIn",
    "Status",
    "StatusChangeOut",
    "StatusIn",
    "Victim",
    "Witness",
    "validation_text",
]

EARLIEST = date(1900, 1, 1)


def _clean(text: str) -> str:
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\x00), which cannot be stored: remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("is not valid Unicode (an unpaired surrogate): send UTF-8 text") from error
    return text


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _number(value: object) -> object:
    # JSON numbers only: no "40.5" strings or true/false sneaking in as 1.0 / 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


def _integer(value: object) -> object:
    # JSON integers (1 and 1.0 alike, as JSON Schema counts them), never strings or true/false
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value[:10])):
        return value
    raise ValueError("must be an ISO 8601 timestamp with an offset, e.g. 2010-06-11T02:15:00+06:00")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
JsonBool = Annotated[bool, Strict()]
JsonInt = Annotated[int, BeforeValidator(_integer)]
NO_NUL = r"^[^\x00]*$"  # in the schema too, so generated clients know
Short = Annotated[str, Field(max_length=200, pattern=NO_NUL), AfterValidator(_clean)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL), AfterValidator(_clean)]
Long = Annotated[str, Field(max_length=20_000, pattern=NO_NUL), AfterValidator(_clean)]
Count = Annotated[int, BeforeValidator(_integer), Field(ge=0, le=10_000_000)]
Latitude = Annotated[float, BeforeValidator(_number), Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, BeforeValidator(_number), Field(ge=-180, le=180, allow_inf_nan=False)]
QueryLatitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
QueryLongitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]

Status = Literal["reported", "corroborated", "verified", "rejected"]
VictimCategory = Literal["killed", "injured", "missing", "abducted"]
Sex = Literal["f", "m", "unknown"]
AgeGroup = Literal["children", "adults", "elderly", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Victim(_Strict):
    """Victims of one category, sex and age group (HXL ``#affected+killed+f+children``)."""

    category: VictimCategory
    sex: Sex = "unknown"
    age_group: AgeGroup = "unknown"
    count: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=1_000_000)]


class Witness(_Strict):
    """A witness: personal data, sealed at rest and redacted for roles that may not see it."""

    name: Name
    contact: Short | None = None
    statement: Long | None = None


class PersonalData(_Strict):
    """Who the source is and who saw it: never in clear in the database, exports or briefs."""

    source_name: Short | None = None
    source_contact: Short | None = None
    witnesses: Annotated[list[Witness], Field(max_length=50)] = []


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("has no time zone: send ISO 8601 with an offset, e.g. 2010-06-11T02:15:00+06:00")
    value = value.astimezone(UTC)
    if not datetime(1900, 1, 1, tzinfo=UTC) <= value <= datetime.now(UTC) + timedelta(days=2):
        raise ValueError("is outside 1900 .. now: check the device clock")
    return value


class IncidentIn(_Strict):
    """A monitor's report. The minimum is ``client_id``, ``type``, ``date_start``, ``latitude``,
    ``longitude``, ``source_reliability``, ``information_credibility`` and ``description``.

    ``client_id`` is a UUID the device makes when the report is written: re-sending the report never
    creates a second incident. ``captured_at`` and ``captured_latitude``/``longitude`` are where and when
    the device recorded it (kept apart from the server's receipt time).
    """

    client_id: UUID
    type: EventType
    date_start: IsoDate
    date_end: IsoDate | None = None
    date_precision: DatePrecision = DatePrecision.DAY
    latitude: Latitude
    longitude: Longitude
    location_precision: LocationPrecision = LocationPrecision.EXACT
    country_iso3: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    admin1: Short | None = None
    admin2: Short | None = None
    place_name: Short | None = None
    sub_event_type: Annotated[str, Field(max_length=100, pattern=NO_NUL), AfterValidator(_clean)] | None = (
        None
    )
    civilian_targeting: JsonBool | None = None
    perpetrator: Short | None = None
    perpetrator_type: ActorType | None = None
    victim_group: Short | None = None
    victim_type: ActorType | None = None
    fatalities_best: Count | None = None
    fatalities_low: Count | None = None
    fatalities_high: Count | None = None
    victims: Annotated[list[Victim], Field(max_length=100)] = []
    source_reliability: Reliability
    information_credibility: InformationCredibility
    description: Annotated[
        str, Field(min_length=1, max_length=20_000, pattern=NO_NUL), AfterValidator(_clean)
    ]
    captured_at: Annotated[datetime | None, BeforeValidator(_iso_datetime), AfterValidator(_aware)] = None
    captured_latitude: Latitude | None = None
    captured_longitude: Longitude | None = None
    personal: PersonalData | None = None
    restricted: JsonBool = True

    @model_validator(mode="after")
    def _consistent(self) -> IncidentIn:
        latest = date.today() + timedelta(days=1)
        if not EARLIEST <= self.date_start <= latest:
            raise ValueError(
                f"date_start {self.date_start} is outside {EARLIEST} .. {latest}: check the date"
            )
        if self.date_end is not None and not self.date_start <= self.date_end <= latest:
            raise ValueError(
                f"date_end {self.date_end} must be between date_start {self.date_start} and {latest}"
            )
        low, best, high = self.fatalities_low, self.fatalities_best, self.fatalities_high
        if best is not None and ((low is not None and low > best) or (high is not None and high < best)):
            raise ValueError(f"fatalities must satisfy low <= best <= high; got {low}, {best}, {high}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"fatalities_low {low} is above fatalities_high {high}")
        if (self.captured_latitude is None) != (self.captured_longitude is None):
            raise ValueError("give both captured_latitude and captured_longitude, or neither")
        return self

    def killed(self) -> int:
        """People killed according to the disaggregated victims (0 if none given)."""
        return sum(v.count for v in self.victims if v.category == "killed")


class AttachmentOut(BaseModel):
    """Metadata of one evidence file (the bytes are fetched separately by investigators)."""

    id: int
    sha256: str
    filename: str
    media_type: str
    size_bytes: int
    uploaded_by: str
    uploaded_at: datetime


class StatusChangeOut(BaseModel):
    """One step of the status workflow."""

    from_status: str
    to_status: str
    by: str
    at: datetime
    reason: str


class IncidentOut(BaseModel):
    """An incident as a caller may see it; ``personal`` is None and ``personal_redacted`` true when the
    caller's role may not see the personal data."""

    id: int
    client_id: str
    type: str
    date_start: date
    date_end: date | None
    date_precision: str
    latitude: float
    longitude: float
    location_precision: str
    country_iso3: str | None
    admin1: str | None
    admin2: str | None
    place_name: str | None
    sub_event_type: str | None
    civilian_targeting: bool | None
    perpetrator: str | None
    perpetrator_type: str | None
    victim_group: str | None
    victim_type: str | None
    fatalities_best: int | None
    fatalities_low: int | None
    fatalities_high: int | None
    victims: list[Victim]
    source_reliability: str
    information_credibility: str
    description: str
    status: Status
    restricted: bool
    reporter: str
    source: str
    source_id: str | None
    captured_at: datetime | None
    captured_latitude: float | None
    captured_longitude: float | None
    received_at: datetime
    updated_at: datetime
    lead_id: int | None
    personal: PersonalData | None
    personal_redacted: bool


class IncidentDetail(IncidentOut):
    """One incident with its history, evidence and linked reports."""

    history: list[StatusChangeOut]
    attachments: list[AttachmentOut]
    linked_ids: list[int]


class IncidentPage(BaseModel):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next page (None: last page)."""

    items: list[IncidentOut]
    next_cursor: int | None


class IncidentFilter(_Strict):
    """Filters of a list or export; all optional, combined with AND. ``security_forces`` true keeps
    the incidents attributed to state security forces (perpetrator type ``state_forces``: police,
    army, other forces of the state), false leaves them out."""

    status: Status | None = None
    type: EventType | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    min_lat: QueryLatitude | None = None
    max_lat: QueryLatitude | None = None
    min_lon: QueryLongitude | None = None
    max_lon: QueryLongitude | None = None
    source_reliability: Annotated[list[Reliability], Field(max_length=6)] | None = None
    reporter: Short | None = None
    q: Annotated[str, Field(max_length=200, pattern=NO_NUL), AfterValidator(_clean)] | None = None
    leads_only: bool = False
    security_forces: bool | None = None
    cursor: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class StatusIn(_Strict):
    """A status change and its reason (kept in the history and the audit chain)."""

    status: Status
    reason: Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL), AfterValidator(_clean)]


class LinkIn(_Strict):
    """Two reports of one incident; the best-graded report leads the group."""

    incident_a: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=2**31 - 1)]
    incident_b: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=2**31 - 1)]
    reason: Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL), AfterValidator(_clean)]


class RoleShare(_Strict):
    """Share a restricted incident with every user of a role."""

    role: Literal["monitor", "analyst", "investigator", "admin"]


class UserShare(_Strict):
    """Share a restricted incident with one user, by name."""

    user: Name


ShareIn = RoleShare | UserShare


class DuplicateCandidate(BaseModel):
    """Two reports that may describe one incident, with the evidence for it."""

    incident_a: int
    incident_b: int
    type: str
    distance_km: float
    days_apart: int
    text_similarity: float
    score: float


class BulkItemResult(BaseModel):
    """The outcome of one report of a device's outbox."""

    index: int
    client_id: str | None
    outcome: Literal["created", "existing", "invalid"]
    id: int | None = None
    error: str | None = None


class BulkResult(BaseModel):
    """Per-report outcomes of an outbox upload; the device may delete every non-invalid report."""

    created: int
    existing: int
    invalid: int
    items: list[BulkItemResult]


def validation_text(error: ValidationError) -> str:
    """The first five of a validation error's problems as one line: "where: what; where: what"."""
    parts = []
    for e in error.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "report"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)
