"""The trend report: a PNG per cell (each size and metric over runs, changes marked,
tool epochs drawn and named, FAILED runs drawn apart), trend.md, trend.html beside the
PNGs, and what CI is told: the regressions that turn it red and a step summary."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from rig.nightly import trend
from rig.nightly.trend import Change, Series, SeriesKey
from rig.sizes import format_size

Said = dict[tuple[SeriesKey, str], str]

COLUMNS = ["cell", "mode", "variant", "metric", "size", "change", "from run", "through", "status"]


def status(change: Change, confirmed: Said) -> str:
    """How the change is known to be real: later runs at its level, an excursion
    bounded by runs on either side, or a re-run of its cell (see trend --confirm)."""
    if change.last_run is not None:
        return "excursion: runs before and after it agree"
    if change.runs_after:
        return f"confirmed by {change.runs_after} later run(s)"
    return confirmed.get(
        (change.series, change.first_run), "newest run: not yet confirmed (trend --confirm)"
    )


def rows(series: list[Series], confirmed: Said) -> list[list[str]]:
    out = []
    for one in series:
        cell, mode, variant, metric, size = one.key
        for change in one.changes:
            out.append(
                [
                    cell,
                    mode,
                    variant,
                    metric,
                    format_size(size),
                    f"{change.change_pct:+.1f}% {change.kind} "
                    f"({change.before_us:.1f} -> {change.after_us:.1f} us, p={change.p_value:.1g})",
                    change.first_run,
                    change.last_run or "-",
                    status(change, confirmed),
                ]
            )
    return out


def epochs(series: list[Series]) -> list[tuple[str, str, str]]:
    """(cell, first run, what changed) of every epoch start, once per cell and run."""
    return sorted(
        {
            (
                s.key[0],
                s.points[i].run_id,
                trend.epoch_change(s.points[i - 1].epoch, s.points[i].epoch),
            )
            for s in series
            for i in s.epoch_starts
        }
    )


def failed_runs(series: list[Series]) -> list[tuple[str, str, str, str, int]]:
    """(cell, mode, variant, run, series) of every run whose variant FAILED: left out of
    the statistics, counted here so a red run is not silent."""
    counted: dict[tuple[str, str, str, str], int] = {}
    for s in series:
        for p in s.failed:
            where = (s.key[0], s.key[1], s.key[2], p.run_id)
            counted[where] = counted.get(where, 0) + 1
    return [(*where, n) for where, n in sorted(counted.items())]


def bisect_lines(series: list[Series], changes: list[Change] | None = None) -> list[str]:
    """A `rig bisect` command per regression of a git-tree cell whose runs measured two
    commits (``changes``: those to cover; every regression by default)."""
    chosen = changes if changes is not None else [c for s in series for c in s.changes]
    by_key = {s.key: s for s in series}
    lines = []
    for change in chosen:
        one = by_key.get(change.series)
        command = trend.bisect_command(one, change) if one and change.kind == "regression" else None
        if command:
            lines.append(
                f"- {change.cell} {change.series[3]} {format_size(change.series[4])}: `{command}`"
            )
    return lines


def markdown(series: list[Series], confirmed: Said) -> str:
    found = rows(series, confirmed)
    runs = {p.run_id for s in series for p in s.points}
    failed = failed_runs(series)
    lines = [
        f"# Trend: {len(runs)} runs, {len(series)} series, {len(found)} change(s)",
        "",
    ]
    if found:
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(r) + " |" for r in found]
    else:
        lines.append("No change: every series stays within its level.")
    bisect = bisect_lines(series)
    if bisect:
        lines += ["", "To find the commit that did it (git-tree cells):", "", *bisect]
    dropped = [
        f"- {k[0][0]} {k[0][2]} {k[0][3]} {format_size(k[0][4])} from {k[1]}: {v}"
        for k, v in sorted(confirmed.items())
        if v.endswith("dropped")
    ]
    if dropped:
        lines += ["", "Not reproduced when the cell ran again (not flagged):", "", *dropped]
    if failed:
        lines += [
            "",
            "Runs whose variant FAILED its correctness checks, drawn but left out of the "
            f"statistics ({sum(f[4] for f in failed)} point(s)):",
            "",
            "| cell | mode | variant | run | series |",
            "|---|---|---|---|---|",
            *[f"| {c} | {m} | {v} | {r} | {n} |" for c, m, v, r, n in failed],
        ]
    starts = epochs(series)
    if starts:
        lines += ["", "Tool changes (a new series epoch, not a kernel change):", ""]
        lines += [f"- {cell}: from {run}: {what}" for cell, run, what in starts]
    return "\n".join(lines) + "\n"


def _draw_series(axis: Axes, one: Series, at: dict[str, int]) -> None:
    """The passing runs as a line, FAILED runs as red crosses, kept changes shaded."""
    _, _, variant, _, size = one.key
    passed = [p for p in one.points if not p.failed]
    axis.plot(
        [at[p.run_id] for p in passed],
        [p.mean_us for p in passed],
        marker="o",
        label=f"{variant} {format_size(size)}",
    )
    if one.failed:
        axis.scatter(
            [at[p.run_id] for p in one.failed],
            [p.mean_us for p in one.failed],
            marker="x",
            color="red",
            s=60,
            zorder=3,
            label="FAILED (not analysed)",
        )
    for change in one.changes:
        start = at[change.first_run]
        stop = at[change.last_run] if change.last_run else at[one.points[-1].run_id]
        axis.axvspan(start - 0.4, stop + 0.4, color="red", alpha=0.12)
        level = next(p.mean_us for p in one.points if p.run_id == change.first_run)
        axis.annotate(
            f"{change.change_pct:+.1f}%",
            (start, level),
            textcoords="offset points",
            xytext=(4, 6),
            color="red",
            fontsize=8,
        )


def _draw_epochs(axis: Axes, series: list[Series], at: dict[str, int]) -> None:
    """A dashed line before each epoch's first run, labelled with what changed."""
    drawn = {
        (at[s.points[i].run_id], trend.epoch_change(s.points[i - 1].epoch, s.points[i].epoch))
        for s in series
        for i in s.epoch_starts
    }
    for x, what in sorted(drawn):
        axis.axvline(x - 0.5, color="gray", linestyle="--", linewidth=0.8)
        axis.text(
            x - 0.45,
            0.98,
            what,
            transform=axis.get_xaxis_transform(),
            rotation=90,
            va="top",
            ha="left",
            fontsize=7,
            color="dimgray",
        )


def plot_cell(cell: str, series: list[Series], path: Path) -> None:
    """One figure per cell: a panel per metric, a line per variant and size."""
    metrics = sorted({s.key[3] for s in series}, key=lambda m: (m != "unmap", m))
    figure, axes = plt.subplots(
        len(metrics), 1, figsize=(13, 4.2 * len(metrics)), squeeze=False, layout="constrained"
    )
    runs = sorted({(p.created, p.run_id) for s in series for p in s.points})
    at = {run_id: x for x, (_, run_id) in enumerate(runs)}
    for axis, metric in zip(axes[:, 0], metrics, strict=True):
        panel = [s for s in series if s.key[3] == metric]
        for one in panel:
            _draw_series(axis, one, at)
        _draw_epochs(axis, panel, at)
        axis.set_xticks(range(len(runs)))
        axis.set_xticklabels(
            [run_id[:15] for _, run_id in runs], rotation=30, ha="right", fontsize=7
        )
        axis.set_yscale("log")
        axis.set_ylabel(f"{metric} latency (us, mean of repeats)")
        axis.set_title(
            f"{cell}: {metric} (shaded: a kept change; dashed: a new epoch, named; "
            "x: a FAILED run, not analysed)"
        )
        axis.grid(True, which="both", alpha=0.3)
        handles, labels = axis.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))  # one FAILED entry per panel
        axis.legend(
            unique.values(),
            unique.keys(),
            fontsize=7,
            ncol=1,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(series: list[Series], confirmed: Said, out: Path) -> list[Path]:
    """trend.md, trend.html and a PNG per cell in ``out``; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    cells = sorted({s.key[0] for s in series})
    for cell in cells:
        path = out / f"trend-{cell}.png"
        plot_cell(cell, [s for s in series if s.key[0] == cell], path)
        written.append(path)
    text = markdown(series, confirmed)
    (out / "trend.md").write_text(text)
    found = rows(series, confirmed)
    table = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in found
    )
    page = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>smmu-rig trend</title>',
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(text.splitlines()[0].lstrip('# '))}</h1>",
        "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr>",
        table,
        "</table>",
        *[
            f'<h2>{html.escape(c)}</h2><img src="trend-{html.escape(c)}.png" alt="{c}">'
            for c in cells
        ],
        "</body></html>",
    ]
    (out / "trend.html").write_text("\n".join(page) + "\n")
    written += [out / "trend.md", out / "trend.html"]
    return written


def _dropped(change: Change, said: Said) -> bool:
    what = said.get((change.series, change.first_run), "")
    return what.endswith("dropped") or "not reproduced" in what


def lasting(series: list[Series], said: Said) -> list[Change]:
    """Regressions that last (an excursion came back: its runs are history, not the
    code's present state) and that a re-run did not drop."""
    return [
        c
        for s in series
        for c in s.changes
        if c.kind == "regression" and c.last_run is None and not _dropped(c, said)
    ]


def regressions(series: list[Series], said: Said) -> list[Change]:
    """What turns CI red: a lasting regression seen twice, by a later run or by a re-run
    of the night that started it (the nightly's cell job re-runs it; trend --confirm
    does locally). One seen only in the newest run is pending: reported, not red."""
    return [
        c
        for c in lasting(series, said)
        if c.runs_after >= 1 or "confirmed" in said.get((c.series, c.first_run), "")
    ]


def plot_links(series: list[Series], base_url: str) -> dict[str, str]:
    """Cell -> the address of its plot (as ``write`` names it) under ``base_url``."""
    return {s.key[0]: f"{base_url.rstrip('/')}/trend-{s.key[0]}.png" for s in series}


def step_summary(series: list[Series], said: Said, plot_links: dict[str, str] | None) -> str:
    """GitHub-flavoured markdown for a CI step summary: a row per regression of
    ``regressions`` (with how it is known: later runs or a re-run), the pending ones,
    then one line counting series, epochs, improvements and FAILED runs. ``plot_links``
    maps a cell to its plot's address (the plots are per cell)."""
    red = regressions(series, said)
    pending = [c for c in lasting(series, said) if c not in red]
    lines = [f"## Nightly trend: {len(red)} regression(s)", ""]
    if red:
        lines += [
            "| cell | mode | variant | metric | size | first bad run | before -> after (µs) "
            "| change | p | confirmation | plot |",
            "|---|---|---|---|---:|---|---:|---:|---:|---|---|",
        ]
        for c in red:
            cell, mode, variant, metric, size = c.series
            link = (plot_links or {}).get(cell)
            lines.append(
                f"| {cell} | {mode} | {variant} | {metric} | {format_size(size)} "
                f"| {c.first_run} | {c.before_us:.1f} -> {c.after_us:.1f} "
                f"| {c.change_pct:+.1f}% | {c.p_value:.1g} | {status(c, said)} "
                f"| {f'[plot]({link})' if link else '-'} |"
            )
    else:
        lines.append("No lasting regression.")
    bisect = bisect_lines(series, red)
    if bisect:
        lines += ["", "To find the commit that did it:", "", *bisect, ""]
    lines += [
        f"- pending, seen once in the newest run: {c.series[0]} {c.series[2]} "
        f"{c.series[3]} {format_size(c.series[4])} {c.change_pct:+.1f}% from {c.first_run}"
        for c in pending
    ]
    improvements = sum(c.kind == "improvement" for s in series for c in s.changes)
    lines += [
        "",
        f"{len(series)} series, {len(epochs(series))} epoch start(s), "
        f"{improvements} improvement(s), {len(failed_runs(series))} FAILED run(s) left out.",
    ]
    return "\n".join(lines) + "\n"
