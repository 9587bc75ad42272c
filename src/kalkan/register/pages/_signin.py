"""Sign in with an access token, sign out, choose the language, and the start page per role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from kalkan.register.auth import authenticate, can
from kalkan.register.i18n import available_languages
from kalkan.register.pages._web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    STATIC,
    check_csrf,
    page,
    reading,
    render,
    safe_next,
)

router = APIRouter()


@router.get("/", include_in_schema=False)
def start(request: Request) -> Response:
    """The start page of the user's role: analysts the queue, everyone else the report form."""
    current = page(request, required=None)
    if current.user is None:
        return RedirectResponse("/signin", status_code=303)
    target = "/queue" if can(current.user, "set_status") else "/incidents" if can(
        current.user, "read_all") else "/report"
    return RedirectResponse(target, status_code=303)


@router.get("/signin", include_in_schema=False)
def signin_form(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    current = page(request, required=None)
    return render(current, "signin.html", next=safe_next(next), error=None)


@router.post("/signin", include_in_schema=False)
def signin(request: Request, token: Annotated[str, Form(max_length=200)] = "",
           next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check the token; on success set the session cookie and go on, else show the form again.

    No CSRF check here: a forged sign-in needs the token itself, which only its holder has.
    """
    current = page(request, required=None)
    token = token.strip()
    with reading(request) as session:
        user = authenticate(session, token)
    if user is None:
        return render(current, "signin.html", status_code=401, next=safe_next(next), error=current._(
            "This token is not valid or its user was revoked. Check it, or ask an admin for a new one."))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/signout", include_in_schema=False)
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Forget the session cookie."""
    current = page(request, required=None)
    if current.user is not None:
        check_csrf(current, csrf)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from the root so that it may control ``/report``."""
    return FileResponse(STATIC / "js" / "sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@router.get("/language", include_in_schema=False)
def choose_language(request: Request, lang: str = "en", next: str = "/") -> Response:
    """Remember the chosen language in a cookie and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in available_languages():
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
