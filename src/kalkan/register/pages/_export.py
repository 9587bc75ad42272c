"""The export page: CSV, GeoJSON or HXL-tagged CSV of what the user may see, streamed.

The file is produced by the register's own streaming export (``kalkan.register.exports``), in one
read snapshot and constant memory, so 100,000 reports download without a timeout. Personal data is
left out unless the user ticks the box, and even then only for the reports their role may see it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from kalkan.register import exports, service
from kalkan.register.app import register_of
from kalkan.register.auth import Actor, Role
from kalkan.register.pages import _vocab
from kalkan.register.pages._browse import filters_from
from kalkan.register.pages._web import PageError, page, reading, render
from kalkan.register.schemas import IncidentFilter

router = APIRouter()

EXTENSIONS = {"csv": "csv", "geojson": "geojson", "hxl": "hxl.csv"}


@router.get("/export", include_in_schema=False)
def export_page(request: Request) -> Response:
    """Choose the format and the filters; shows how many reports the file will hold."""
    current = page(request, required="export")
    filters, values, error = filters_from(current, dict(request.query_params))
    if error:
        current.flashes.append({"kind": "error", "text": error})
    assert current.user is not None
    with reading(request) as session:
        total = service.count_incidents(session, current.user, filters)
    return render(
        current,
        "export.html",
        values=values,
        total=total,
        event_types=_vocab.event_types(current.lang),
        statuses=[(code, current._(label)) for code, label in _vocab.STATUS_LABELS.items()],
        may_personal=current.user.role is not Role.MONITOR,
    )


def _stream(
    request: Request, actor: Actor, fmt: str, filters: IncidentFilter, personal: bool
) -> Iterator[bytes]:
    with register_of(request).read() as session:
        for chunk in exports.export_chunks(
            session,
            actor,
            fmt,
            filters,
            include_personal=personal,
        ):
            yield chunk.encode()


@router.get("/export/download", include_in_schema=False)
def download(request: Request, format: str = "csv", personal: str = "") -> Response:
    """The export file itself, streamed as an attachment."""
    current = page(request, required="export")
    if format not in exports.FORMATS:
        raise PageError(
            422,
            current._("Unknown format"),
            current._("The format “%(format)s” is not offered: choose CSV, GeoJSON or HXL.", format=format),
        )
    filters, _values, error = filters_from(current, dict(request.query_params))
    if error:
        raise PageError(422, current._("Filters not understood"), error)
    assert current.user is not None  # page(..., required="export") signed the user in
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    name = f"kalkan-register-{stamp}.{EXTENSIONS[format]}"
    return StreamingResponse(
        _stream(request, current.user, format, filters, personal == "1"),
        media_type=exports.FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
