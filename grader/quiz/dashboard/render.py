"""HTML and inline SVG plots of the dashboard (no plotting library, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    vmin: float = 0.0,
    vmax: float = 1.0,
    title: str = "",
    width: int = 640,
    height: int = 220,
) -> Markup:
    """A vertical bar chart as inline SVG; None values are drawn as an empty slot."""
    pad_l, pad_b, pad_t = 40, 60, 24
    n = max(1, len(values))
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    step = plot_w / n
    span = (vmax - vmin) or 1.0
    zero_y = pad_t + plot_h * (vmax - max(vmin, min(vmax, 0.0))) / span
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" direction="ltr">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad_l}" y="16" font-size="13">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{zero_y:.1f}" x2="{width - 10}" y2="{zero_y:.1f}" stroke="#555"/>',
        f'<text x="2" y="{pad_t + 4}" font-size="10">{vmax:g}</text>',
        f'<text x="2" y="{pad_t + plot_h}" font-size="10">{vmin:g}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = pad_l + i * step + step * 0.15
        if value is not None:
            v = max(vmin, min(vmax, value))
            y = pad_t + plot_h * (vmax - v) / span
            top, h = min(y, zero_y), abs(zero_y - y)
            colour = "#2957c4" if value >= 0 else "#c92a2a"
            parts.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {value:.2f}</title></rect>'
            )
        lx, ly = x + step * 0.35, pad_t + plot_h + 10
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="9" '
            f'transform="rotate(45 {lx:.1f} {ly:.1f})">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def page(env: Environment, data: dict[str, Any], csrf: str = "") -> str:
    """The dashboard page for a ``stats.summary`` result; ``csrf`` is the session's value for
    the sign-out form (empty: signed in by header, no form)."""
    plots: dict[str, dict[str, Markup]] = {}
    for qid, q in data["quizzes"].items():
        labels = [f"{10 * i}-{10 * (i + 1)}%" for i in range(len(q["distribution"]))]
        top = max(q["distribution"] or [1]) or 1
        plots[qid] = {
            "distribution": bar_chart(
                labels, q["distribution"], vmax=top, title=f"{qid}: score distribution (students)"
            ),
            "facility": bar_chart(
                [i["id"] for i in q["items"]],
                [i["facility"] for i in q["items"]],
                title=f"{qid}: facility per question",
            ),
            "discrimination": bar_chart(
                [i["id"] for i in q["items"]],
                [i["discrimination"] for i in q["items"]],
                vmin=-1.0,
                title=f"{qid}: discrimination per question",
            ),
        }
    gain_plots = [
        {
            "concept": bar_chart(
                [c["concept"] for c in g["per_concept"]],
                [c["gain"] for c in g["per_concept"]],
                vmin=-1.0,
                title=f"normalized gain per concept ({g['pre']} -> {g['post']})",
            ),
            "student": bar_chart(
                [s["student"] for s in g["per_student"]],
                [s["gain"] for s in g["per_student"]],
                vmin=-1.0,
                title="normalized gain per student",
            ),
        }
        for g in data["gains"]
    ]
    return env.get_template("dashboard.html").render(
        data=data, plots=plots, gain_plots=gain_plots, csrf=csrf, lang="en", dir="ltr"
    )
