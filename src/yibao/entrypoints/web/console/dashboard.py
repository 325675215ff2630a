"""The fund dashboard of a region's year: payments by scheme and layer and by month as
charts and tables, persons past each top line, serious-illness payments; and the same
figures as CSV (UTF-8 with a byte-order mark, so that Excel reads the Chinese)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.console.charts import Bar, column_chart, hbar_chart
from yibao.entrypoints.web.console.common import LABELS, ConsolePage
from yibao.entrypoints.web.pages import Form, _
from yibao.service.console import LAYERS, dashboard_csv
from yibao.service.errors import ServiceError

router = APIRouter(include_in_schema=False)


def _asked(page: ConsolePage) -> tuple[Form, list[dict[str, str]], str, int | None]:
    """The region and year asked for (defaults: the staff member's region, or the first
    one; this year), checked, with errors next to their fields."""
    params = page.request.query_params
    regions = page.services.console.regions(page.staff)
    codes = [r["code"] for r in regions]
    region = params.get("region", "").strip() or (page.staff.region or (codes[0] if codes else ""))
    raw_year = params.get("year", "").strip() or str(page.services.console.clock().year)
    form = Form({"region": region, "year": raw_year})
    if region not in codes:
        form.error("region", page.t("Choose one of your regions."))
    year: int | None = None
    try:
        year = int(raw_year)
    except ValueError:
        form.error("year", page.t("Give a year between 2000 and 2100."))
    return form, regions, region, year


@router.get("/console/dashboard")
def dashboard(request: Request) -> Response:
    page = ConsolePage(request)
    form, regions, region, year = _asked(page)
    view: dict[str, Any] | None = None
    if form.ok and year is not None:
        try:
            view = page.services.console.dashboard(page.staff, region, year)
        except ServiceError as exc:
            page.refuse(form, exc)
    charts = _charts(page, view) if view is not None else {}
    return page.render(
        "console/dashboard.html",
        status=200 if form.ok else 422,
        form=form,
        regions=regions,
        view=view,
        charts=charts,
        layers=LAYERS,
        region_name=lambda code: page.region_name(code, regions),
        section="dashboard",
    )


@router.get("/console/dashboard.csv")
def dashboard_export(request: Request) -> Response:
    page = ConsolePage(request)
    form, _regions, region, year = _asked(page)
    if form.ok and year is not None:
        try:
            view = page.services.console.dashboard(page.staff, region, year)
        except ServiceError as exc:
            page.refuse(form, exc)
        else:
            body = "\ufeff" + in_words(page, dashboard_csv(view))
            return Response(
                body.encode("utf-8"),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="fund-{region}-{year}.csv"'},
            )
    message = "; ".join(form.errors.values())
    return Response(
        message.encode("utf-8"), status_code=422, media_type="text/plain; charset=utf-8"
    )


def _charts(page: ConsolePage, view: dict[str, Any]) -> dict[str, Any]:
    layer_colour = {layer: i for i, layer in enumerate(LAYERS)}
    by_scheme_layer = [
        Bar(
            f"{page.label('scheme', r['scheme'])} · {page.label('layer', r['layer'])}",
            Decimal(r["amount"]),
            r["amount"],
            layer_colour.get(r["layer"], len(LAYERS)),
        )
        for r in view["by_scheme_layer"]
    ]
    months = [Bar(r["month"][5:], Decimal(r["amount"]), r["amount"]) for r in view["by_month"]]
    return {
        "scheme_layer": hbar_chart(
            page.t("Payments by scheme and layer"), by_scheme_layer, chart_id="chart-scheme-layer"
        ),
        "month": column_chart(page.t("Payments by month"), months, chart_id="chart-month"),
        "layer_names": {layer: page.label("layer", layer) for layer in LAYERS},
    }


CSV_WORDS = {
    "section": _("Section"),
    "scheme": _("Scheme"),
    "layer": _("Layer"),
    "month": _("Month"),
    "amount": _("Amount (yuan)"),
    "persons": _("Persons"),
}
SECTIONS = {
    "scheme_layer": _("by scheme and layer"),
    "scheme": _("by scheme"),
    "month_layer": _("by month and layer"),
    "month": _("by month"),
    "top_line": _("past the top line"),
    "serious_illness": _("serious illness"),
    "serious_illness_total": _("serious illness, all schemes"),
    "total": _("total"),
}


def in_words(page: ConsolePage, text: str) -> str:
    """The CSV as the page's language names things: in Chinese, the header and the codes
    of sections, schemes and layers in words (amounts and months as they are); in English,
    the codes (the format docs/console.md describes)."""
    if page.lang != "zh":
        return text
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([page.t(CSV_WORDS.get(h, h)) for h in rows[0]])
    for section, scheme, layer, *rest in rows[1:]:
        w.writerow(
            [
                page.t(SECTIONS[section]) if section in SECTIONS else section,
                page.label("scheme", scheme) if scheme else "",
                _layer(page, layer),
                *rest,
            ]
        )
    return out.getvalue()


def _layer(page: ConsolePage, code: str) -> str:
    if not code:
        return ""
    for kind in ("layer", "top_line"):
        if code in LABELS.get(kind, {}):
            return page.label(kind, code)
    return code
