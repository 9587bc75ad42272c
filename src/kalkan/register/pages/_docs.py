"""The interactive API documentation (Swagger UI), for signed-in admins, with assets shipped locally.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which breaks on a mission LAN without internet
and lets a third party's script run beside the register. Here the assets come from the
``swagger-ui-bundle`` package and the page is open only to admins (it lists every route).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response

from kalkan.register.pages._web import PageError, page

router = APIRouter()


def _assets() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    """Swagger UI over ``/openapi.json`` (admins)."""
    page(request, required="users")
    response = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="kalkan register API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )
    # Swagger UI starts from one inline script; everything else is this site's own.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/docs/assets/{name}", include_in_schema=False)
def asset(request: Request, name: str) -> Response:
    """One Swagger UI asset (admins)."""
    page(request, required="users")
    if name not in ("swagger-ui-bundle.js", "swagger-ui.css"):
        raise PageError(404, "Not found", "No such documentation asset.")
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(_assets() / name, media_type=media, headers={"Cache-Control": "max-age=86400"})
