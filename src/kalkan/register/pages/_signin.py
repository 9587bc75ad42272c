"""Sign in with an access token, sign out, choose the language, and the start page per role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from kalkan.errors import TooManyAttempts, Unauthorized
from kalkan.register.app import register_of
from kalkan.register.auth import can
from kalkan.register.i18n import available_languages
from kalkan.register.pages._web import (
    LANG_COOKIE,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    STATIC,
    PageError,
    check_csrf,
    page,
    render,
    safe_next,
    same_origin,
    writing,
)
from kalkan.register.sessions import ABSOLUTE

router = APIRouter()


@router.get("/", include_in_schema=False)
def start(request: Request) -> Response:
    """The start page of the user's role: analysts the queue, everyone else the report form."""
    current = page(request, required=None)
    if current.user is None:
        return RedirectResponse("/signin", status_code=303)
    target = (
        "/queue"
        if can(current.user, "set_status")
        else "/incidents"
        if can(current.user, "read_all")
        else "/report"
    )
    return RedirectResponse(target, status_code=303)


def _presession_csrf(request: Request, value: str) -> str:
    """The sign-in form's CSRF token: a MAC of the pre-session cookie under the audit key."""
    key = register_of(request).keys.chain
    return hmac.new(key, b"kalkan-signin:" + value.encode(), hashlib.sha256).hexdigest()


def _signin_page(
    request: Request, current: Any, *, next_: str, error: str | None, status_code: int = 200
) -> Response:
    """The sign-in form with a fresh pre-session cookie and the CSRF token bound to it."""
    value = secrets.token_urlsafe(24)
    response = render(
        current,
        "signin.html",
        status_code=status_code,
        next=next_,
        error=error,
        signin_csrf=_presession_csrf(request, value),
    )
    response.set_cookie(
        PRESESSION_COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
        path="/signin",
    )
    return response


@router.get("/signin", include_in_schema=False)
def signin_form(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    current = page(request, required=None)
    return _signin_page(request, current, next_=safe_next(next), error=None)


@router.post("/signin", include_in_schema=False)
def signin(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the token; on success start a web session and go on, else show the form again.

    Login CSRF (a page of another site posting the attacker's token, so that the victim's reports go to
    the attacker's account) is refused twice over: the post must come from this site's origin, and it
    must carry the token of the pre-session cookie set with the form (SameSite=Strict, so another
    site's post does not carry it). Failures are counted per address (back-off), logged and audited.
    """
    from kalkan.register.app import checked_actor, client_address
    from kalkan.register.sessions import end_session, start_session

    current = page(request, required=None)
    presession = request.cookies.get(PRESESSION_COOKIE, "")
    if (
        not same_origin(request)
        or not presession
        or not hmac.compare_digest(csrf, _presession_csrf(request, presession))
    ):
        raise PageError(
            403,
            current._("Form expired"),
            current._(
                "This sign-in was not sent from this site's own sign-in form. Open the sign-in page and "
                "paste your token there."
            ),
        )
    register = register_of(request)
    address = client_address(request)
    try:
        user = checked_actor(register, token.strip(), address, "/signin")
    except TooManyAttempts as error:
        return _signin_page(
            request,
            current,
            next_=safe_next(next),
            status_code=429,
            error=current._(
                "Too many failed sign-ins from this device. Wait %(seconds)s seconds and try again.",
                seconds=error.retry_after,
            ),
        )
    except Unauthorized:
        return _signin_page(
            request,
            current,
            next_=safe_next(next),
            status_code=401,
            error=current._(
                "This token is not valid or its user was revoked. Check it, or ask an admin for a new one."
            ),
        )
    old = request.cookies.get(SESSION_COOKIE)
    with writing(request) as session:
        if old:
            end_session(session, None, old)
        secret = start_session(session, user, address)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(ABSOLUTE.total_seconds()),
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/signin")
    return response


@router.post("/signout", include_in_schema=False)
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the web session on the server (the cookie then opens nothing, wherever it was copied)."""
    from kalkan.register.sessions import end_session

    current = page(request, required=None)
    if current.user is not None and current.token is not None:
        check_csrf(current, csrf)
        with writing(request) as session:
            end_session(session, current.user, current.token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from the root so that it may control ``/report``."""
    return FileResponse(
        STATIC / "js" / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/language", include_in_schema=False)
def choose_language(request: Request, lang: str = "en", next: str = "/") -> Response:
    """Remember the chosen language in a cookie and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in available_languages():
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
