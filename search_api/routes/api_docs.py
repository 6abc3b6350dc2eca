"""The API's own documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), with their scripts, styles and icon
served from the installed `fastapi-offline` package instead of a CDN, so that they work where there is no internet
(an air-gapped server, the compose deployment). FastAPI's own pages, which load those files from a CDN, are off
(`docs_url=None, redoc_url=None` in `search_api.app`).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

#: The files the pages load, as the package ships them, with their media types.
STATIC = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
#: Where the pages find those files; open even when an API key is set, as the search page's assets are (no data).
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
#: The pages may load nothing from another host: ReDoc's bundle, for one, shows a logo from its makers' CDN. The
#: browser refuses such a load before any request leaves (inline script and styles are the UIs' own).
SAME_ORIGIN_ONLY = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:; connect-src 'self'"
}


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root, app = request.scope.get("root_path", ""), request.app
    return _same_origin(
        get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
    )


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root, app = request.scope.get("root_path", ""), request.app
    return _same_origin(
        get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
    )


@router.get(f"{ASSETS_PATH}/{{name}}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"no documentation asset {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"cache-control": "public, max-age=86400"})


def _same_origin(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(SAME_ORIGIN_ONLY)
    return page
