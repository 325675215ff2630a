"""Charts as inline SVG, drawn on the server: no JavaScript, no build. Every bar carries
a <title> (read by screen readers, shown on hover) and its exact amount as a label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from yibao.domain.money import ZERO

FONT = 'font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"'
COLOURS = ("#0a6fb3", "#1b7f3b", "#b36b00", "#7b3fb3", "#b3261e")


@dataclass(frozen=True)
class Bar:
    label: str  # shown beside (or under) the bar
    value: Decimal  # its length
    text: str  # the exact amount shown on it
    colour: int = 0  # an index into COLOURS


def _share(value: Decimal, top: Decimal, length: float) -> float:
    if top <= ZERO or value <= ZERO:
        return 0.0
    return float(value / top) * length


def hbar_chart(title: str, bars: Sequence[Bar], *, chart_id: str) -> Markup:
    """Horizontal bars, one row each: label, bar, amount."""
    label_w, bar_w, text_w, row_h = 220, 380, 120, 30
    width = label_w + bar_w + text_w
    height = max(1, len(bars)) * row_h + 10
    top = max((b.value for b in bars), default=ZERO)
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {width} {height}" width="100%" {FONT} font-size="13">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
    ]
    for i, b in enumerate(bars):
        y = 5 + i * row_h
        w = _share(b.value, top, bar_w)
        colour = COLOURS[b.colour % len(COLOURS)]
        parts.append(
            f'<g class="bar-row"><title>{escape(b.label)}: {escape(b.text)}</title>'
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end">{escape(b.label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" fill="{colour}"/>'
            f'<text class="amount" x="{label_w + w + 6:.1f}" y="{y + 19}">{escape(b.text)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(title: str, columns: Sequence[Bar], *, chart_id: str) -> Markup:
    """Vertical columns side by side (months): label under, amount above each."""
    col_w, plot_h, top_pad, bottom_pad, left = 64, 200, 60, 28, 10
    width = left * 2 + max(1, len(columns)) * col_w
    height = top_pad + plot_h + bottom_pad
    top = max((c.value for c in columns), default=ZERO)
    base = top_pad + plot_h
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'viewBox="0 0 {width} {height}" width="100%" {FONT} font-size="12">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="#98a6b3"/>',
    ]
    for i, c in enumerate(columns):
        x = left + i * col_w
        h = _share(c.value, top, plot_h)
        colour = COLOURS[c.colour % len(COLOURS)]
        middle = x + col_w / 2
        parts.append(
            f'<g class="column"><title>{escape(c.label)}: {escape(c.text)}</title>'
            f'<rect x="{x + 8}" y="{base - h:.1f}" width="{col_w - 16}" height="{h:.1f}" fill="{colour}"/>'
            f'<text class="amount" x="{middle:.1f}" y="{base - h - 6:.1f}" text-anchor="start" '
            f'transform="rotate(-40 {middle:.1f} {base - h - 6:.1f})" font-size="11">{escape(c.text)}</text>'
            f'<text x="{middle:.1f}" y="{base + 18}" text-anchor="middle">{escape(c.label)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
