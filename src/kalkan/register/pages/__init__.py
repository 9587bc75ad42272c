"""The register's web pages (server-rendered; every asset shipped in the package).

Pages: sign-in, the report form (offline draft and outbox, re-sent with the same ``client_id``), the
list of reports, one report with its history and audit entries, the verification queue, the map and
the export page. They call :mod:`kalkan.register.service` and nothing below it, except two read-only
queries built on the register's access rule (the map's compact rows and the queue's oldest-first
ids). ``create_app`` calls :func:`install`; the app must hold the open register in
``app.state.register``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from kalkan.register.pages._web import STATIC, PageError, SignInRequired, page, render, sign_in_redirect

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Mount the web pages and their static assets on ``app``."""
    from kalkan.register.pages import (
        _browse,
        _docs,
        _export,
        _manage,
        _map,
        _mission,
        _report,
        _signin,
        _verify,
    )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (_signin, _report, _browse, _verify, _manage, _map, _mission, _export, _docs):
        app.include_router(module.router)

    async def page_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageError)
        current = page(request, required=None)
        return render(
            current, "error.html", status_code=error.status_code, heading=error.heading, message=error.message
        )

    async def sign_in(request: Request, error: Exception) -> Response:
        return sign_in_redirect(request)

    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(SignInRequired, sign_in)
