"""Small charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without colour
(every bar has a <title> with its day and value, shown on hover and read by screen readers)."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

WIDTH, HEIGHT, PAD_TOP, PAD_BOTTOM = 600, 150, 8, 20


def bar_chart(points, *, label: str, text=str, colour: str = "#417690", negative_colour: str = "#ba2121") -> str:
    """`points`: [(day label, number)], oldest first; `text(value)` writes a value in words
    ("594 830 ₸"). Bars grow up from zero, negative values down (in `negative_colour`)."""
    points = list(points)
    if not points:
        return ""
    values = [float(value or 0) for _, value in points]
    top, bottom = max(max(values), 0.0), min(min(values), 0.0)
    span = (top - bottom) or 1.0
    plot = HEIGHT - PAD_TOP - PAD_BOTTOM
    zero_y = PAD_TOP + plot * top / span
    step = WIDTH / len(points)
    bars = []
    for i, ((day, value), number) in enumerate(zip(points, values)):
        height = max(plot * abs(number) / span, 1.0 if number else 0.0)
        y = zero_y - height if number >= 0 else zero_y
        bars.append(
            (
                f"{i * step + step * 0.15:.1f}",
                f"{y:.1f}",
                f"{step * 0.7:.1f}",
                f"{height:.1f}",
                colour if number >= 0 else negative_colour,
                f"{day}: {text(value)}",
            )
        )
    rects = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', bars)
    last = len(points) - 1

    def anchor(i):  # the first and last labels stay inside the chart
        return "start" if i == 0 else "end" if i == last else "middle"

    def x(i):
        return f"{0 if i == 0 else WIDTH if i == last else i * step + step / 2:.1f}"

    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="{}" fill="currentColor">{}</text>',
        (
            (x(i), HEIGHT - 6, anchor(i), day)
            for i, (day, _) in enumerate(points)
            if (i % 7 == 0 and last - i >= 4) or i == last
        ),
    )
    axis = format_html(
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-opacity="0.3"/>',
        f"{zero_y:.1f}",
        WIDTH,
        f"{zero_y:.1f}",
    )
    return format_html(
        '<svg class="ks-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" preserveAspectRatio="none">{}{}{}</svg>',
        WIDTH,
        HEIGHT,
        label,
        rects,
        axis,
        ticks,
    ) or mark_safe("")
