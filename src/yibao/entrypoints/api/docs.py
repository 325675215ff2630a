"""The API's documentation at /docs: Swagger UI 5 (it reads OpenAPI 3.1) served from the
installed package fastapi-offline's static files, so the console's origin loads no script
from elsewhere, and started from a static file, so the Content-Security-Policy needs no
inline script."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Call with an app made with docs_url=None and redoc_url=None."""
    assets = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    page = PAGE.format(title=app.title)

    async def docs(_request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    # A plain route (not an API operation, not a page of the app's own).
    app.router.add_route("/docs", docs, methods=["GET"], include_in_schema=False)
