"""What every page needs: the signed-in user, the language, CSRF protection and rendering.

Sign-in starts a server-side web session (:mod:`kalkan.register.sessions`): the HttpOnly,
SameSite=Lax cookie holds a random session id, never the API token, and the session ends when idle,
at its absolute limit, at sign-out or when the user is revoked. Forms carry a CSRF token derived from
the session id (HMAC-SHA256), which a page of another site cannot know, and every form post must come
from this site's own origin when the browser says where it comes from (``Origin``). The language
comes from ``?lang=``, then the ``kalkan_lang`` cookie, then the browser's ``Accept-Language``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kalkan.register.app import register_of
from kalkan.register.auth import Actor, can
from kalkan.register.i18n import Language, available_languages, language, negotiate
from kalkan.register.pages import _vocab

SESSION_COOKIE = "kalkan_session"
PRESESSION_COOKIE = "kalkan_signin"
LANG_COOKIE = "kalkan_lang"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"

# (path, label, right needed) of the navigation, in order.
NAV: list[tuple[str, str, str | None]] = [
    ("/report", _vocab.N_("File a report"), "create"),
    ("/incidents", _vocab.N_("Reports"), "read"),
    ("/queue", _vocab.N_("Verification queue"), "set_status"),
    ("/map", _vocab.N_("Map"), "read_all"),
    ("/mission", _vocab.N_("Mission work"), "read"),
    ("/export", _vocab.N_("Export"), "export"),
]


class PageError(Exception):
    """A page cannot be shown: rendered as an HTML error page with ``status_code``."""

    def __init__(self, status_code: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.heading, self.message = status_code, heading, message


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page (and back afterwards)."""


@dataclass
class Page:
    """One request's page state: who, in which language, with which CSRF token."""

    request: Request
    lang: Language
    user: Actor | None
    token: str | None
    flashes: list[dict[str, str]] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        """The CSRF token for this session ('' when signed out, where a fixed per-browser value is used)."""
        return csrf_for(self.token or "anonymous")

    def _(self, message: str, **values: Any) -> str:
        """Translate ``message`` and fill ``%(name)s`` placeholders."""
        text = self.lang.gettext(message)
        return text % values if values else text


def csrf_for(token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of a fixed label under the session token."""
    return hmac.new(token.encode(), b"kalkan-pages-csrf", hashlib.sha256).hexdigest()


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """A read session on the app's register."""
    with register_of(request).read() as session:
        yield session


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    """A write session on the app's register (committed when the block ends)."""
    with register_of(request).write() as session:
        yield session


def page(request: Request, *, required: str | None = "read") -> Page:
    """The page state of ``request``; raises :class:`SignInRequired` or a 403 :class:`PageError`
    when the user is not signed in or their role lacks ``required``."""
    code = negotiate(
        [request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)],
        request.headers.get("accept-language"),
    )
    lang = language(code)
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        from kalkan.register.sessions import session_actor, touch_session

        with reading(request) as session:
            found = session_actor(session, token)
        if found is not None:
            user, touch = found
            if touch:
                register_of(request).write_batched(lambda s: touch_session(s, token))
    current = Page(request=request, lang=lang, user=user, token=token if user else None)
    if required is None:
        return current
    if user is None:
        raise SignInRequired()
    if not can(user, required):
        raise PageError(
            403,
            current._("Not open to your role"),
            current._(
                "The role “%(role)s” cannot open this page. Ask an admin if your work needs it.",
                role=current._(_vocab.ROLE_LABELS[user.role.value]),
            ),
        )
    return current


def same_origin(request: Request) -> bool:
    """Whether a post comes from this site: its ``Origin`` (or, without one, its ``Referer``) names this
    site's scheme, host and port. A request that names neither passes here (not a browser's form post,
    or a browser that sends neither); the CSRF token still guards it."""
    origin = request.headers.get("origin")
    if origin is None and request.headers.get("referer"):
        parts = urlsplit(request.headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return origin.lower() == own.lower()


def check_csrf(current: Page, submitted: str | None) -> None:
    """Refuse a form post from another site, or whose CSRF token is missing or not this session's (403)."""
    if not same_origin(current.request) or not submitted or not hmac.compare_digest(submitted, current.csrf):
        raise PageError(
            403,
            current._("Form expired"),
            current._(
                "This form was not sent from this session (it may be older than your last sign-in). "
                "Reload the page and send it again."
            ),
        )


@cache
def environment(code: str) -> jinja2.Environment:
    """The Jinja2 environment of one language (the gettext callables are bound per environment)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    lang = language(code)
    env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=lang,
        static=static_url,
        type_label=lambda code: _label(lang, _vocab.EVENT_TYPE_LABELS, code),
        status_label=lambda code: _label(lang, _vocab.STATUS_LABELS, code),
        role_label=lambda code: _label(lang, _vocab.ROLE_LABELS, code),
        languages=[(c, language(c).name) for c in available_languages()],
        action_label=lambda code: _label(lang, _vocab.ACTION_LABELS, code),
    )
    env.filters.update(date=lang.date, datetime=lang.datetime, number=lang.number)
    return env


def _label(lang: Language, labels: dict[str, str], code: object) -> str:
    """The translated label of a vocabulary code (the code itself when it has no label)."""
    text = str(code)
    return lang.gettext(labels.get(text, text))


@cache
def _static_version() -> str:
    """A short hash of the static files, so a new release is never served from a stale cache."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def static_url(path: str) -> str:
    """The URL of a shipped asset, with a version query that changes when the assets do."""
    return f"/static/{path}?v={_static_version()}"


def nav(current: Page) -> list[dict[str, Any]]:
    """The navigation links the signed-in user's role may open."""
    if current.user is None:
        return []
    here = current.request.url.path
    return [
        {"href": href, "label": current._(label), "current": here == href or here.startswith(href + "/")}
        for href, label, right in NAV
        if right is None or can(current.user, right)
    ]


def render(current: Page, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` for the page's user and language."""
    if "values" in context:  # form values: a missing one is empty, not a template error
        context["values"] = defaultdict(str, context["values"])
    html = (
        environment(current.lang.code)
        .get_template(template)
        .render(
            request=current.request,
            user=current.user,
            csrf=current.csrf,
            nav=nav(current),
            flashes=current.flashes,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers.update(security_headers())
    if current.request.query_params.get("lang") == current.lang.code:
        response.set_cookie(LANG_COOKIE, current.lang.code, max_age=365 * 86400, samesite="lax")
    return response


def security_headers() -> dict[str, str]:
    """Headers of every page: no caching of personal data, and a Content-Security-Policy that lets
    only this server's scripts run (an injected ``<script>`` in a report would not execute even if
    escaping failed). Images may also come from the tile server of ``KALKAN_TILE_URL``."""
    tiles = tile_url()
    img = "'self' data:"
    if tiles:
        parts = urlsplit(tiles.replace("{s}", "a"))
        img += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tiles else parts.netloc}"
    policy = (
        f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src {img}; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


def filed(
    url: str, record_id: int, client_id: str, created: bool, *, wants_json: bool, say_filed: bool = True
) -> Response:
    """The answer to a form that filed a record at ``url``: JSON for the device's outbox (201 when new,
    200 when its client_id was filed before), otherwise a redirect to the record (with ``?filed=1`` or
    ``?filed=0`` when ``say_filed``, so the page says which)."""
    if wants_json:
        return JSONResponse(
            {"id": record_id, "client_id": client_id, "created": created, "url": url},
            status_code=201 if created else 200,
        )
    return RedirectResponse(
        url + (("?filed=1" if created else "?filed=0") if say_filed else ""), status_code=303
    )


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Send the browser to the sign-in page, to come back to where it was."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


def tile_url() -> str | None:
    """A map tile URL template from ``KALKAN_TILE_URL`` (e.g. a tile server on the mission LAN).

    Unset by default: the maps then draw district outlines only and need no network at all.
    """
    return os.environ.get("KALKAN_TILE_URL") or None


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect after sign-in)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
