"""What the trend says to CI: which regressions turn the night red, and the markdown
summary a CI step shows (cells, sizes, first bad run, size of the change, plots).

A regression turns CI red when it lasts (it is not an excursion that came back) and it
was seen twice: by a later run, or by the cell job's re-run of the night that started
it. One seen only in the newest run, unconfirmed, is listed as pending and does not.
"""

from __future__ import annotations

from rig.nightly.trend import Change, Series, SeriesKey
from rig.sizes import format_size

Said = dict[tuple[SeriesKey, str], str]


def _dropped(change: Change, said: Said) -> bool:
    word = said.get((change.series, change.first_run), "")
    return "not reproduced" in word or "dropped" in word


def lasting(series: list[Series], said: Said) -> list[Change]:
    return [
        c
        for s in series
        for c in s.changes
        if c.kind == "regression" and c.last_run is None and not _dropped(c, said)
    ]


def regressions(series: list[Series], said: Said) -> list[Change]:
    """The lasting regressions that were seen twice."""
    return [
        c
        for c in lasting(series, said)
        if c.runs_after >= 1 or "confirmed" in said.get((c.series, c.first_run), "")
    ]


def plot_links(series: list[Series], base_url: str) -> dict[str, str]:
    """Cell -> its plot's address under ``base_url`` (trend_report names them)."""
    return {s.key[0]: f"{base_url.rstrip('/')}/trend-{s.key[0]}.png" for s in series}


def step_summary(series: list[Series], said: Said, links: dict[str, str] | None) -> str:
    red = regressions(series, said)
    pending = [c for c in lasting(series, said) if c not in red]
    lines = ["## Nightly trend", ""]
    if red:
        lines += [
            f"**{len(red)} confirmed regression(s)**",
            "",
            "| cell | mode | variant | metric | size | first bad run | before → after | "
            "change | p | seen again | plot |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in red:
            cell, mode, variant, metric, size = c.series
            plot = f"[plot]({links[cell]})" if links and cell in links else "-"
            again = said.get((c.series, c.first_run)) or f"{c.runs_after} later run(s)"
            lines.append(
                f"| {cell} | {mode} | {variant} | {metric} | {format_size(size)} | "
                f"{c.first_run} | {c.before_us:.1f} → {c.after_us:.1f} us | "
                f"{c.change_pct:+.1f}% | {c.p_value:.2g} | {again} | {plot} |"
            )
    else:
        lines.append("No confirmed regression.")
    for c in pending:
        lines.append(
            f"- pending (seen once, newest run): {c.series[0]} {c.series[2]} {c.series[3]} "
            f"{format_size(c.series[4])} {c.change_pct:+.1f}% from {c.first_run}"
        )
    improvements = sum(c.kind == "improvement" for s in series for c in s.changes)
    runs = len({p.run_id for s in series for p in s.points})
    lines += ["", f"{len(series)} series over {runs} run(s); {improvements} improvement(s)."]
    return "\n".join(lines)
