"""Template tags of the Kaspi quality panel and page (figures from orders.quality).

`{% quality_dashboard as q %}`: the panel's figures. `{% quality_gauge figures %}` and
`{% quality_trend points %}`: server-rendered SVG (no JavaScript, nothing loaded from elsewhere).
`{% quality_orders_url period kind reason %}`: the order list filtered to the orders behind a
number. `{{ fraction|percent }}`: 0.0325 -> "3,25 %" (localised).
"""

import math
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

from orders import quality

register = template.Library()

COLOURS = {quality.Level.GREEN: "#2e7d32", quality.Level.AMBER: "#b26a00", quality.Level.RED: "#c62828"}
GAUGE_MAX_PERCENT = 8  # the end of the gauge's arc; a higher share pins the needle there
LABEL_GAP = 12  # least vertical distance between two labels of the trend chart (SVG units)


@register.simple_tag
def quality_dashboard():
    return quality.dashboard()


@register.filter
def percent(fraction) -> str:
    return quality.format_share(fraction)


@register.filter
def minutes(value) -> str:
    return quality.format_wait(value)


@register.filter
def level_colour(level: str) -> str:
    return COLOURS.get(level, COLOURS[quality.Level.GREEN])


@register.simple_tag
def quality_orders_url(period, kind: str = "", reason=None) -> str:
    """The order list filtered to the orders of `period` (anything with .start and .end) behind
    one figure: `kind` is a key of quality.QUALITY_FILTERS (or "waiting"), `reason` a reason code."""
    params = {
        "created_at__gte": timezone.localtime(period.start).isoformat(),
        "created_at__lt": timezone.localtime(period.end).isoformat(),
    }
    if kind == "waiting":
        params["status__exact"] = "APPROVED_BY_BANK"
    elif kind:
        params["quality"] = kind
    if reason is not None:
        params["quality"] = "cancelled"
        params["cancellation_reason__exact"] = reason
    return f"{reverse('admin:orders_order_changelist')}?{urlencode(params)}"


# --- SVG geometry --------------------------------------------------------------------------------
def _on_arc(cx: float, cy: float, r: float, fraction: float) -> tuple[float, float]:
    """A point of the upper half circle: fraction 0 is the left end, 1 the right end."""
    angle = math.pi * (1 - min(max(fraction, 0.0), 1.0))
    return round(cx + r * math.cos(angle), 1), round(cy - r * math.sin(angle), 1)


@register.inclusion_tag("admin/orders/quality/gauge.svg.html")
def quality_gauge(figures, size: int = 220):
    """A half-circle gauge of the cancelled share: green below 3 %, amber from 3 %, red from 4 %,
    the 5 % line marked, the needle at the share."""
    cx, cy, r = size / 2, size / 2, size / 2 - 24
    bands = []
    edges = [0, quality.AMBER_FROM_PERCENT, quality.RED_FROM_PERCENT, GAUGE_MAX_PERCENT]
    for (low, high), level in zip(zip(edges, edges[1:]), quality.LEVEL_ORDER, strict=True):
        (x1, y1), (x2, y2) = (_on_arc(cx, cy, r, v / GAUGE_MAX_PERCENT) for v in (low, high))
        bands.append({"path": f"M {x1} {y1} A {r} {r} 0 0 1 {x2} {y2}", "colour": COLOURS[level]})
    limit = quality.KASPI_LIMIT_PERCENT / GAUGE_MAX_PERCENT
    share_percent = figures.cancelled_share * 100
    return {
        "figures": figures,
        "size": size,
        "height": int(cy + 30),
        "bands": bands,
        "limit_inner": _on_arc(cx, cy, r - 16, limit),
        "limit_outer": _on_arc(cx, cy, r + 14, limit),
        "limit_label": _on_arc(cx, cy, r + 22, limit),
        "needle": _on_arc(cx, cy, r - 6, share_percent / GAUGE_MAX_PERCENT),
        "centre": (cx, cy),
        "colour": COLOURS[figures.level],
        "limit_percent": quality.KASPI_LIMIT_PERCENT,
    }


@register.inclusion_tag("admin/orders/quality/trend.svg.html")
def quality_trend(points, width: int = 640, height: int = 190):
    """The rolling 30-day share day by day: all reasons (solid) and merchant-side (dashed),
    against the 3 %, 4 % and 5 % lines. A day whose 30 days hold no order has no share: the
    lines break there instead of dropping to 0 %. A label that would overlap one already placed
    (0 %, 5 %, the top of the scale first) is left out; its line keeps its colour."""
    left, right, top, bottom = 44, 12, 10, 26
    highest = max([p.cancelled_share * 100 for p in points] + [0])
    top_percent = max(quality.KASPI_LIMIT_PERCENT + 1, math.ceil(highest * 1.1))
    span_x, span_y = width - left - right, height - top - bottom

    def x(i):
        return round(left + (i * span_x / max(len(points) - 1, 1)), 1)

    def y(percent_value):
        return round(top + span_y * (1 - min(percent_value, top_percent) / top_percent), 1)

    placed = [y(0)]

    def label_fits(at: float) -> bool:
        if all(abs(at - other) >= LABEL_GAP for other in placed):
            placed.append(at)
            return True
        return False

    levels = {
        quality.KASPI_LIMIT_PERCENT: quality.Level.RED,
        quality.RED_FROM_PERCENT: quality.Level.RED,
        quality.AMBER_FROM_PERCENT: quality.Level.AMBER,
    }
    lines = []
    for value, level in levels.items():  # the 5 % line's label first
        lines.append(
            {
                "y": y(value),
                "label": value if label_fits(y(value)) else None,
                "colour": COLOURS[level],
                "dashed": value != quality.KASPI_LIMIT_PERCENT,
            }
        )
    top_label = top_percent if label_fits(y(top_percent)) else None

    def segments(share_of) -> list[str]:
        """Runs of consecutive days with orders, each as SVG points ("x,y x,y ...")."""
        runs, current = [], []
        for i, p in enumerate(points):
            if p.orders:
                current.append(f"{x(i)},{y(share_of(p) * 100)}")
            elif current:
                runs.append(" ".join(current))
                current = []
        if current:
            runs.append(" ".join(current))
        return runs

    ticks = [(x(i), points[i].day) for i in sorted({0, len(points) // 2, len(points) - 1})] if points else []
    return {
        "points": points,
        "width": width,
        "height": height,
        "left": left,
        "right_edge": width - right,
        "baseline": y(0),
        "zero_label_y": y(0) + 4,
        "top_label": top_label,
        "top_label_y": y(top_percent),
        "all_lines": segments(lambda p: p.cancelled_share),
        "merchant_lines": segments(lambda p: p.merchant_share),
        "lines": lines,
        "ticks": ticks,
        "tick_y": height - 8,
        "last": points[-1] if points else None,
    }


@register.simple_tag
def quality_limit_percent() -> int:
    return quality.KASPI_LIMIT_PERCENT


@register.filter
def level_label(level: str) -> str:
    return str(quality.LEVEL_LABELS.get(level, level))


@register.filter
def reason_count(by_reason: dict, code: str) -> int:
    return by_reason.get(code, 0)
