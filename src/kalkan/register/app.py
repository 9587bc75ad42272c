"""The register's HTTP service: FastAPI routes under ``/api/`` over the service layer.

``create_app`` opens (and migrates) the database, mounts the API and the web pages
(``kalkan.register.pages.install``), and turns the service layer's errors into status codes:
401 no or wrong token, 403 role lacks the right, 404 unknown or not shared, 409 conflicts with the
current state, 413 body too large, 422 invalid input. The OpenAPI schema is at ``/openapi.json``.
"""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kalkan.errors import (
    AccessDenied,
    Conflict,
    InputError,
    IntegrityError,
    KalkanError,
    NotFound,
    StoreError,
    TooManyAttempts,
    Unauthorized,
)
from kalkan.register import service
from kalkan.register.auth import Actor, add_user, authenticate
from kalkan.register.context import Register, open_register
from kalkan.register.evidence import MAX_EVIDENCE_BYTES
from kalkan.register.exports import FORMATS, export_chunks
from kalkan.register.schemas import (
    AttachmentOut,
    BulkResult,
    DuplicateCandidate,
    IncidentDetail,
    IncidentFilter,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    LinkIn,
    ShareIn,
    StatusIn,
)

__all__ = [
    "MAX_JSON_BYTES",
    "FastRead",
    "create_app",
    "current_actor",
    "json_response",
    "register_of",
    "status_of",
]

MAX_JSON_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_BULK_BYTES = 16 * 1024 * 1024
IdPath = Annotated[int, Field(ge=1, le=2**31 - 1)]
P = ParamSpec("P")
T = TypeVar("T")


class ErrorOut(BaseModel):
    """Every error answer: one sentence saying what is wrong and how to fix it."""

    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "The body cannot be parsed (not JSON, or not UTF-8)."),
        (401, "No token, or a wrong or revoked one."),
        (403, "The caller's role lacks the right."),
        (404, "Unknown, or not shared with the caller."),
        (409, "Conflicts with the current state."),
        (413, "Body too large."),
        (422, "Invalid input; the detail names the field."),
        (429, "Too many failed sign-ins from this address: wait and retry."),
    )
}


class BodyLimit:
    """Refuse request bodies over a size with 413, whether the size is declared or the body is chunked,
    before more than the limit is read into memory; and refuse request headers over
    :data:`MAX_HEADER_BYTES` in all with 431.

    A chunked body that goes over the limit stops being read; whatever the route then answers (a form
    parser's 400, for one) is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        if sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEADER_BYTES:
            too_big = f"The request headers are over {MAX_HEADER_BYTES} bytes: send fewer or shorter ones."
            await _refuse(send, 431, too_big)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(headers).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        seen, over, answered = 0, False, False

        async def limited() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal answered
            if over:
                return  # the 413 below replaces whatever the route answers
            answered = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except _TooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not answered:
            await _too_large(send, limit)


class SecurityHeaders:
    """Headers on every answer, whatever route or error made it: never content-sniffed, never framed
    (``X-Frame-Options`` for old browsers; pages also say ``frame-ancestors 'none'``), HSTS over TLS;
    answers under /api/ are never cached (they carry personal data)."""

    EVERY = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
    API = [(b"cache-control", b"no-store")]
    HSTS = [(b"strict-transport-security", b"max-age=31536000")]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.EVERY)
        if scope["path"].startswith("/api/"):
            extra += self.API
        if scope.get("scheme") == "https":
            extra += self.HSTS
        names = {name for name, _ in extra}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = [*kept, *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class FastRead:
    """``GET /api/incidents/{id}`` served without FastAPI's routing and dependency solving (SQLite).

    The register's most frequent request is one incident by id. Here it takes the same steps as the
    FastAPI route: the bearer token through the same per-process cache (:func:`_cached_actor`), the
    same service call (:func:`kalkan.register.service.get_incident`: visibility and redaction) and
    the same serialisation, but skips route matching over every page, dependency injection and
    request-object construction, about half the request's CPU time. Only a successful answer is sent
    from here: a request with a query string or a body, a missing, wrong or revoked token, an unknown
    or hidden incident, goes on to the FastAPI route, which answers it (and documents the route in
    ``/openapi.json``). With SQLite the read runs on the event loop (a few indexed lookups in a local
    file; the hand-off to a thread cost more than the read); with PostgreSQL, whose round trips would
    block the loop, in the thread pool.
    """

    PREFIX = "/api/incidents/"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self._parse(scope) if scope["type"] == "http" else None
        body = None
        if request is not None:
            register: Register = scope["app"].state.register
            body = await _read_where_cheap(register, self._answer, register, *request)
        if body is None:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _parse(self, scope: Scope) -> tuple[int, str, str] | None:
        """The incident id and bearer token of a plain read of one incident, or None for anything else."""
        path: str = scope["path"]
        if scope["method"] != "GET" or scope["query_string"] or not path.startswith(self.PREFIX):
            return None
        digits = path[len(self.PREFIX) :]
        if not (digits.isascii() and digits.isdigit() and digits[0] != "0" and len(digits) <= 10):
            return None
        incident_id = int(digits)
        if incident_id > 2**31 - 1:
            return None
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if token is not None:  # two Authorization headers: let the full route judge
                    return None
                token = value
            elif name in (b"content-length", b"transfer-encoding"):
                return None
        if token is None or token[:7].lower() != b"bearer ":
            return None
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return incident_id, token[7:].decode("latin-1").strip(), address  # as FastAPI's HTTPBearer reads it

    def _answer(self, register: Register, incident_id: int, token: str, address: str) -> bytes | None:
        """The incident as JSON when the token is valid and the incident visible to its user, else None."""
        try:
            actor = _cached_actor(register, token)
            if actor is None or register.throttle_locked(address):
                return None
            with register.read() as session:
                return service.get_incident(session, actor, incident_id).model_dump_json().encode()
        except KalkanError:
            return None


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(
        send, 413, f"The request body is over {limit} bytes: send less (split an outbox into parts)."
    )


async def _refuse(send: Send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _limit_for(path: str) -> int:
    if path.endswith("/attachments") or path.startswith("/api/import") or path == "/report":
        return MAX_EVIDENCE_BYTES + 64 * 1024
    if path.endswith("/bulk"):
        return MAX_BULK_BYTES
    return MAX_JSON_BYTES


class Outbox(BaseModel):
    """A device's outbox: reports shaped like IncidentIn, validated one by one."""

    reports: Annotated[list[dict[str, Any]], Field(max_length=service.MAX_BULK)]


class NewUser(BaseModel):
    """A user to create."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]
    role: Annotated[str, Field(pattern="^(monitor|analyst|investigator|admin)$")]
    expires_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class NewUserOut(BaseModel):
    """The new user and its token (shown once), with the token's expiry if it has one."""

    name: str
    role: str
    token: str
    expires_at: datetime | None = None


_bearer = HTTPBearer(auto_error=False, description="A token from `kalkan users add NAME --role ROLE`.")


TOKEN_CACHE_SECONDS = 5.0
_TOKENS: dict[tuple[int, str], tuple[Actor | None, float]] = {}
_now = time.monotonic  # the cache's clock (a test moves it)


def _cached_actor(register: Register, token: str) -> Actor | None:
    """Look a token up at most once per :data:`TOKEN_CACHE_SECONDS` (a revoked token stops working
    within that time in every server process); saves a database round trip on most requests."""
    key, now = (id(register), token), _now()
    hit = _TOKENS.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    with register.read() as session:
        actor = authenticate(session, token)
    if len(_TOKENS) > 10_000:
        _TOKENS.clear()
    _TOKENS[key] = (actor, now + TOKEN_CACHE_SECONDS)
    return actor


def register_of(request: Request) -> Register:
    """The open register the app serves (set on ``app.state`` by :func:`create_app`)."""
    register: Register = request.app.state.register
    return register


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """A model as JSON without FastAPI validating it a second time (the hot paths)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


async def _read_where_cheap(register: Register, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``read(*args, **kwargs)`` on the event loop with SQLite, in the thread pool with a database server.

    With SQLite a read is CPU work on a local file (one incident: a few indexed lookups, well under a
    millisecond; a page of 50: a few ms; WAL: it never waits for a writer), so it runs on the loop and
    reads queue one after another: handing one to the thread pool cost more CPU than the read, and
    threads fought the loop for the GIL (the slowest pages took ten times their CPU time). A database
    server's round trips would block the loop, so they go to the pool.
    """
    if register.db.is_sqlite:
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


async def _read_json(register: Register, work: Callable[[Session], BaseModel]) -> Response:
    """``work(session)`` in a read session, sent as JSON (see :func:`_read_where_cheap` for where)."""

    def read() -> Response:
        with register.read() as session:
            return json_response(work(session))

    return await _read_where_cheap(register, read)


def client_address(request: Request) -> str:
    """The peer address of a request (what failed sign-ins are counted by)."""
    return request.client.host if request.client else "unknown"


def checked_actor(register: Register, token: str, address: str, route: str) -> Actor:
    """The user holding ``token``; a failure is counted, logged and audited (401), and an address
    with too many failures is refused before the token is even looked at (429)."""
    register.throttle.check(f"address:{address}")
    actor = _cached_actor(register, token)
    if actor is None:
        register.auth_failed(address, route)
        raise Unauthorized("The bearer token is wrong, expired or revoked: ask an admin for a new one.")
    register.throttle.succeed(f"address:{address}")
    return actor


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    """The user the request's bearer token belongs to (401 otherwise, 429 after too many failures)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "No bearer token: send 'Authorization: Bearer TOKEN' (kalkan users add prints one)."
        )
    return checked_actor(
        register_of(request), credentials.credentials, client_address(request), request.url.path
    )


ActorDep = Annotated[Actor, Depends(current_actor)]


def _query_names(dependant: Any) -> frozenset[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        kind = getattr(param.field_info, "annotation", None)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names.update(f.alias or n for n, f in kind.model_fields.items())
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names.update(_query_names(sub))
    return frozenset(names)


async def known_query(request: Request) -> None:
    """Refuse query parameters the route does not take (a typo must not silently widen a filter)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # Kept on the route itself: a cache keyed by id() handed one route's names to another route once
    # the first was garbage-collected and its id reused (seen as random 422s in the test suite).
    allowed = getattr(route, "kalkan_query_names", None)
    if allowed is None:
        allowed = _query_names(dependant)
        route.kalkan_query_names = allowed  # type: ignore[union-attr]
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        shown = ", ".join(repr(u[:40]) for u in unknown[:3])
        raise InputError(
            f"Unknown query parameter(s) {shown}: this route takes {', '.join(sorted(allowed)) or 'none'}."
        )


STATUS_CODES: tuple[tuple[type[KalkanError], int], ...] = (
    # The one place where the register's errors become status codes (API and pages alike).
    (Unauthorized, 401),
    (AccessDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyAttempts, 429),
    (InputError, 422),
    (StoreError, 503),
    (IntegrityError, 500),
)


def status_of(error: Exception) -> int:
    """The HTTP status of a kalkan error (400 for an error of no listed kind)."""
    for kind, code in STATUS_CODES:
        if isinstance(error, kind):
            return code
    return 400


def _routes(router: APIRouter) -> None:
    @router.post(
        "/incidents",
        status_code=201,
        response_model=IncidentOut,
        responses={200: {"model": IncidentOut, "description": "Already stored (same client_id)."}},
    )
    def create(request: Request, report: IncidentIn, actor: ActorDep) -> Response:
        """File a report; 201 with the incident, or 200 with the stored one when ``client_id`` was seen."""
        # Reports arriving together share one commit (group commit); each is acknowledged only after it.
        out, created = register_of(request).write_batched(
            lambda session: service.create_incident(session, actor, report)
        )
        return json_response(out, 201 if created else 200)

    @router.post("/incidents/bulk", response_model=BulkResult)
    def bulk(request: Request, outbox: Outbox, actor: ActorDep) -> BulkResult:
        """Upload a device's outbox (each item an IncidentIn); per-report outcome, invalid ones say why."""
        with register_of(request).write() as session:
            return service.bulk_create(session, actor, outbox.reports)

    @router.get("/incidents", response_model=IncidentPage)
    async def list_(
        request: Request, filters: Annotated[IncidentFilter, Query()], actor: ActorDep
    ) -> Response:
        """Incidents the caller may see, newest first, filtered and paged by ``cursor``."""
        return await _read_json(register_of(request), lambda s: service.list_incidents(s, actor, filters))

    @router.get("/incidents/{incident_id}", response_model=IncidentDetail)
    async def get(request: Request, incident_id: IdPath, actor: ActorDep) -> Response:
        """One incident with its history, evidence and linked reports."""
        return await _read_json(register_of(request), lambda s: service.get_incident(s, actor, incident_id))

    @router.post("/incidents/{incident_id}/status", response_model=IncidentDetail)
    def status(request: Request, incident_id: IdPath, change: StatusIn, actor: ActorDep) -> IncidentDetail:
        """Move the incident along reported -> corroborated -> verified, or to rejected, with a reason."""
        with register_of(request).write() as session:
            return service.change_status(session, actor, incident_id, change.status, change.reason)

    @router.post("/incidents/{incident_id}/share", status_code=204)
    def share(request: Request, incident_id: IdPath, target: ShareIn, actor: ActorDep) -> Response:
        """Share a restricted incident with a role or a user."""
        with register_of(request).write() as session:
            service.share_incident(
                session,
                actor,
                incident_id,
                role=getattr(target, "role", None),
                user=getattr(target, "user", None),
            )
        return Response(status_code=204)

    @router.post("/incidents/{incident_id}/attachments", status_code=201, response_model=AttachmentOut)
    def attach(
        request: Request, incident_id: IdPath, file: Annotated[UploadFile, File()], actor: ActorDep
    ) -> AttachmentOut:
        """Attach an evidence file (stored by SHA-256; the hash enters the audit chain)."""
        with register_of(request).write() as session:
            return service.attach_evidence(
                session,
                actor,
                incident_id,
                filename=file.filename or "evidence",
                media_type=file.content_type or "application/octet-stream",
                stream=file.file,
            )

    @router.get(
        "/attachments/{attachment_id}",
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def download(request: Request, attachment_id: IdPath, actor: ActorDep) -> FileResponse:
        """The evidence file (investigators, admins and its uploader), re-hashed before it is sent; every
        opening is written into the audit chain (chain of custody)."""
        with register_of(request).write() as session:
            meta, path = service.evidence_file(session, actor, attachment_id)
            service.record_evidence_access(session, actor, meta)
        return FileResponse(
            path,
            media_type="application/octet-stream",
            filename=meta.filename,
            headers={"X-Content-SHA256": meta.sha256},
        )

    @router.get("/incidents/{incident_id}/custody")
    def custody(request: Request, incident_id: IdPath, actor: ActorDep) -> list[dict[str, Any]]:
        """The incident's chain of custody: every audit entry about it and its evidence files."""
        with register_of(request).read() as session:
            return service.custody(session, actor, incident_id)

    @router.get("/duplicates", response_model=list[DuplicateCandidate])
    def duplicates(
        request: Request,
        actor: ActorDep,
        incident_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        distance_km: Annotated[float, Query(gt=0, le=500)] = 5.0,
        days: Annotated[int, Query(ge=0, le=365)] = 3,
        min_score: Annotated[float, Query(ge=0, le=1)] = 0.5,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DuplicateCandidate]:
        """Pairs of reports that may be one incident (same type, near in space and time, similar text)."""
        with register_of(request).read() as session:
            return service.duplicate_candidates(
                session,
                actor,
                incident_id=incident_id,
                distance_km=distance_km,
                days=days,
                min_score=min_score,
                limit=limit,
            )

    @router.post("/links", response_model=IncidentDetail)
    def link(request: Request, pair: LinkIn, actor: ActorDep) -> IncidentDetail:
        """Link two reports of one incident; returns the group's lead (the best-graded report)."""
        with register_of(request).write() as session:
            return service.link_incidents(session, actor, pair.incident_a, pair.incident_b, pair.reason)

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}, "application/geo+json": {}}}},
    )
    def export(
        request: Request,
        actor: ActorDep,
        format: Annotated[str, Query(pattern="^(csv|geojson|hxl)$")] = "csv",  # noqa: A002
        include_personal: bool = False,
        security_forces: bool | None = None,
    ) -> StreamingResponse:
        """Every incident the caller may see, streamed as CSV, GeoJSON or HXL-tagged CSV;
        ``security_forces=true`` keeps only the incidents attributed to state security forces."""
        register = register_of(request)
        filters = IncidentFilter(security_forces=security_forces)
        with register.read() as session:  # fail early (403) before the stream starts
            next(export_chunks(session, actor, format))

        def chunks() -> Any:
            with register.read() as session:
                for chunk in export_chunks(
                    session, actor, format, filters, include_personal=include_personal
                ):
                    yield chunk.encode()

        suffix = {"csv": "csv", "geojson": "geojson", "hxl": "hxl.csv"}[format]
        return StreamingResponse(
            chunks(),
            media_type=FORMATS[format],
            headers={"Content-Disposition": f'attachment; filename="incidents.{suffix}"'},
        )

    @router.post("/users", status_code=201, response_model=NewUserOut)
    def users(request: Request, new: NewUser, actor: ActorDep) -> NewUserOut:
        """Create a user (admins only); the token is shown once."""
        if actor.role.value != "admin":
            raise AccessDenied(f"The role {actor.role.value!r} may not create users; admins may.")
        expires = None
        if new.expires_days is not None:
            from datetime import timedelta

            from kalkan.register.db import utcnow

            expires = utcnow() + timedelta(days=new.expires_days)
        with register_of(request).write() as session:
            try:
                user, token = add_user(session, new.name, new.role, actor=actor, expires_at=expires)
            except InputError as error:
                raise Conflict(str(error)) from error
        return NewUserOut(name=user.name, role=user.role, token=token, expires_at=user.token_expires_at)

    @router.get("/audit")
    def audit_log(
        request: Request,
        actor: ActorDep,
        after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """Entries of the hash-chained audit log (admins only)."""
        with register_of(request).read() as session:
            return service.audit_entries(session, actor, after_seq=after_seq, limit=limit)

    from kalkan.register import mission_api

    mission_api.add_routes(router)

    @router.get("/me")
    def me(actor: ActorDep) -> dict[str, Any]:
        """Who the token belongs to."""
        return {"name": actor.name, "role": actor.role.value}


def create_app(
    db_url: str | None = None,
    *,
    data_dir: Path | None = None,
    synchronous: str = "FULL",
    fast_reads: bool = True,
) -> FastAPI:
    """The register's FastAPI application on the database at ``db_url`` (SQLite in ``data_dir`` if None).

    The schema is created or upgraded at once. ``app.state.register`` holds the open
    :class:`~kalkan.register.context.Register` (the web pages use it with the service layer).
    ``fast_reads`` serves successful reads of one incident through :class:`FastRead` (SQLite); the
    answers are the same either way.
    """
    register = open_register(db_url, data_dir=data_dir, synchronous=synchronous)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        register.close()

    app = FastAPI(
        title="kalkan incident register",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served by the pages to signed-in admins, with local assets (see pages/_docs.py)
        redoc_url=None,
        description="The mission's incident register: reports, verification, evidence, exports.",
    )
    app.state.register = register
    router = APIRouter(prefix="/api", responses=ERRORS, dependencies=[Depends(known_query)])
    _routes(router)
    app.include_router(router)

    @app.exception_handler(KalkanError)
    async def kalkan_error(_request: Request, error: KalkanError) -> JSONResponse:
        code = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        if isinstance(error, TooManyAttempts):
            headers = {"Retry-After": str(error.retry_after)}
        return JSONResponse({"detail": str(error)}, status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = []
        for e in error.errors()[:10]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            details.append(
                {"loc": list(e.get("loc", ())), "msg": f"{where}: {e.get('msg')}", "type": e.get("type")}
            )
        return JSONResponse({"detail": details}, status_code=422)

    if fast_reads:
        app.add_middleware(FastRead)
    app.add_middleware(BodyLimit, limit_for=_limit_for)
    app.add_middleware(SecurityHeaders)
    from kalkan.register import pages

    pages.install(app)
    return app


def app_from_env() -> FastAPI:
    """The app for ``kalkan serve``'s worker processes: settings from ``KALKAN_REGISTER_*`` variables."""
    import os

    data_dir = os.environ.get("KALKAN_REGISTER_DATA_DIR")
    app = create_app(
        os.environ.get("KALKAN_REGISTER_DB") or None,
        data_dir=Path(data_dir) if data_dir else None,
        synchronous=os.environ.get("KALKAN_REGISTER_SYNCHRONOUS", "FULL"),
    )
    _freeze_startup_objects()
    return app


def _freeze_startup_objects() -> None:
    """Keep the objects made at start-up (modules, FastAPI's routes, SQLAlchemy's mappers, pydantic's
    validators) out of the garbage collector's oldest generation.

    Scanning them took about 70 ms at each full collection, which came every few hundred requests
    and held up every request queued behind it: the slowest list pages took 100-250 ms at 16
    connections although a page costs about 2 ms. After ``gc.freeze()`` a full collection takes
    well under a millisecond. The frozen objects live as long as the process anyway.
    """
    import gc

    gc.collect()
    gc.freeze()
