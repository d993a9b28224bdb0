"""From results rows to the seed-style tables: medians, % improvement, CI, verdict. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from rig.build.patches import BASELINE
from rig.errors import UserError
from rig.report import headline, stats, tables
from rig.run import correctness

METRICS = {"unmap": "Unmap", "map": "Map"}
ICOUNT_NOTE = (
    "icount mode: guest time counts executed instructions (2^4 ns each), not real time. "
    "Absolute latencies are not comparable with hardware; only ratios between variants are."
)
WALLCLOCK_NOTE = (
    "wallclock mode: plain TCG on a shared host; boots were interleaved to cancel drift, "
    "but expect more noise than in icount mode."
)
COUNTERS_NOTE = (
    "From a separate, untimed boot per variant with the unmap path traced: page-table "
    "syncs per unmap call, beside the minimum the rig expects for that size on this profile, "
    "and TLB add-page calls per unmap."
)
CORRECTNESS_NOTE = (
    "A variant that fails any check is FAILED, and its latencies are not a result: its "
    "verdicts below say FAILED whatever the numbers are."
)
# Bold in Markdown for the verdicts that claim something; the word itself is the marker.
_EMPHASISED = {stats.IMPROVED, stats.REGRESSED, correctness.FAILED}


def check_columns(frame: pd.DataFrame, source: str) -> None:
    """What one run's results must be beyond their columns (rig.frames checks those)."""
    if BASELINE not in set(frame["variant"]):
        raise UserError(f"{source}: no rows for variant {BASELINE!r}")
    for column in ("profile", "mode"):
        if frame[column].nunique() != 1:
            raise UserError(f"{source}: mixes several values of {column!r}; one run per file")


def variants(frame: pd.DataFrame) -> list[str]:
    """The reference first (the baseline, or a revert run's revert), then the compared
    variants in order of first appearance."""
    ref = stats.reference(frame)
    seen = list(dict.fromkeys(frame["variant"]))
    return [ref, *[v for v in seen if v != ref]]


def revert_note(frame: pd.DataFrame) -> str:
    """What a revert run's columns are, said once; empty for a forward run."""
    ref = stats.reference(frame)
    if ref == BASELINE:
        return ""
    return (
        f"Revert run: the tree already carries the change. `{ref}` is the tree with it "
        f"reverted, the code **without** the change; `{BASELINE}` is the tree's own "
        "upstream code, **with** it. As in the seed's tables, each table reads without | "
        "with | % improvement of the change."
    )


def per_size(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median, min, max and spread % over boots, per variant and size."""
    column = f"{metric}_us"
    grouped = frame.groupby(["variant", "size_bytes"])[column]
    result = grouped.agg(["median", "min", "max", "count"]).reset_index()
    result["spread_pct"] = (result["max"] - result["min"]) / result["median"] * 100.0
    return result


def improvement_table(
    frame: pd.DataFrame, metric: str, criteria: stats.Criteria = stats.DEFAULT_CRITERIA
) -> pd.DataFrame:
    """One row per size: each variant's median and spread, and for each patch its %
    improvement over baseline with the 95% CI, p-value and verdict of rig.stats."""
    by_size = per_size(frame, metric)
    medians = by_size.pivot(index="size_bytes", columns="variant", values="median")
    spreads = by_size.pivot(index="size_bytes", columns="variant", values="spread_pct")
    compared = stats.compare(frame, (metric,), criteria).set_index(["variant", "size_bytes"])
    table = pd.DataFrame(index=medians.index)
    names = variants(frame)
    for variant in names:
        table[variant] = medians[variant]
    for variant in names[1:]:
        cells = compared.xs(variant, level="variant").reindex(table.index)
        table[f"improvement_pct:{variant}"] = cells["change_pct"]
        table[f"ci_low_pct:{variant}"] = cells["ci_low_pct"]
        table[f"ci_high_pct:{variant}"] = cells["ci_high_pct"]
        table[f"p_value:{variant}"] = cells["p_value"]
        table[f"verdict:{variant}"] = cells["verdict"]
    for variant in names:
        table[f"spread_pct:{variant}"] = spreads[variant]
    return table.sort_index()


def display_table(
    frame: pd.DataFrame,
    metric: str,
    criteria: stats.Criteria = stats.DEFAULT_CRITERIA,
    failed: frozenset[str] = frozenset(),
) -> tuple[tables.Table, pd.DataFrame]:
    """The latency table of one metric as text cells, and the comparisons behind it.

    A variant in ``failed`` failed a correctness check: its verdict is FAILED whatever
    its numbers say, so a fast but wrong patch never reads as an improvement.
    """
    names = variants(frame)
    by_size = per_size(frame, metric)
    medians = by_size.pivot(index="size_bytes", columns="variant", values="median").sort_index()
    spreads = by_size.pivot(index="size_bytes", columns="variant", values="spread_pct")
    compared = stats.compare(frame, (metric,), criteria)
    compared.loc[compared["variant"].isin(failed), "verdict"] = correctness.FAILED
    if names[0] in failed:  # a failed reference (a revert run's revert) voids every comparison
        compared["verdict"] = correctness.FAILED
    return tables.latency_table(medians, spreads, compared, names), compared


def failed_variants(verdicts: dict[str, dict[str, Any]]) -> frozenset[str]:
    return frozenset(v for v, found in verdicts.items() if found["verdict"] != correctness.PASSED)


def correctness_table(verdicts: dict[str, dict[str, Any]]) -> tables.Table:
    """Per variant: its correctness verdict and the checks behind it."""
    rows = []
    for variant, found in verdicts.items():
        failing = [c for c in found["checks"] if not c["passed"]]
        shown = failing or found["checks"]
        checks = "; ".join(f"{c['name']}: {c['detail']}" for c in shown)
        rows.append((variant, str(found["verdict"]), checks))
    return tables.Table(
        ("Variant", "Correctness", "Checks"),
        tuple(rows),
        verdict_columns=frozenset({1}),
        left_columns=frozenset({0, 1, 2}),
    )


def how_to_read(frame: pd.DataFrame, criteria: stats.Criteria) -> str:
    """The paragraph under the header: what each column means and how verdicts are made."""
    boots = int(frame.groupby("variant")["repeat"].nunique().min())
    threshold = f"{criteria.threshold_pct:g}%"
    p_floor = (
        f" With {boots} boots per variant it cannot go below {stats.smallest_p(boots, boots):.2g}."
        if boots <= 5
        else ""
    )
    return (
        "Latencies are medians over boots; spread = (max - min) / median over boots. "
        "% improvement = (baseline - patched) / baseline of the medians, as in the seed's "
        "tables (positive is faster). 95% CI: bootstrap over boots "
        f"({criteria.resamples} resamples, seed {criteria.seed}). p: Mann-Whitney U, "
        f"two-sided, exact; shown for information only.{p_floor} Verdict, with threshold "
        f"T = {threshold}: **improved** if the CI is above 0 and the change is more than "
        f"+{threshold}; **regressed** if the CI is below 0 and the change is less than "
        f"-{threshold}; no significant change if the whole CI lies within ±{threshold}; "
        "inconclusive otherwise (the boots are too noisy to tell). "
        'docs/how-a-number-is-made.md, "Statistics", says why.'
    )


def render_markdown(table: tables.Table) -> list[str]:
    align = ["---:" if i not in table.left_columns else ":---" for i in range(len(table.header))]
    lines = ["| " + " | ".join(table.header) + " |", "|" + "|".join(align) + "|"]
    for row in table.rows:
        cells = [
            f"**{cell}**" if i in table.verdict_columns and cell in _EMPHASISED else cell
            for i, cell in enumerate(row)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def title(frame: pd.DataFrame) -> str:
    names = variants(frame)
    profile = str(frame["profile"].iloc[0])
    mode = str(frame["mode"].iloc[0])
    return f"smmu-rig: {', '.join(names[1:]) or 'baseline'} vs {names[0]} on {profile} ({mode})"


def configuration_lines(frame: pd.DataFrame, criteria: stats.Criteria) -> list[str]:
    """What was run and how, with the timing mode's caveat; the report's last section."""
    names = variants(frame)
    profile = str(frame["profile"].iloc[0])
    mode = str(frame["mode"].iloc[0])
    boots = frame.groupby("variant")["repeat"].nunique().to_dict()
    releases = frame.groupby("variant")["kernel_release"].first().to_dict()
    first = frame.iloc[0]
    return [
        f"- profile: `{profile}`; timing mode: `{mode}`",
        f"- dma_map_benchmark: {first['threads']} thread(s), {first['seconds']} s per size, "
        f"dir {first['direction']}, {first['dma_bits']}-bit mask",
        "- boots per variant: " + ", ".join(f"{v} {boots.get(v, 0)}" for v in names),
        "- kernels: " + ", ".join(f"{v} `{releases.get(v)}`" for v in names),
        f"- verdict threshold: {criteria.threshold_pct:g}%",
        "",
        "> " + (ICOUNT_NOTE if mode == "icount" else WALLCLOCK_NOTE),
    ]


def incomplete_note(reason: str) -> str:
    """A run that stopped early still reports what it measured, and says so first."""
    return (
        f"**Incomplete run** ({reason}): it stopped before it finished. The tables hold "
        "the timed results taken before that; the checks that did not run gave no "
        "verdict, so no verdict here says the patch is correct."
    )


def headlines(
    frame: pd.DataFrame,
    unmap_compared: pd.DataFrame,
    verdicts: dict[str, dict[str, Any]] | None,
    complete: bool = True,
) -> list[str]:
    """The report's first lines, one per compared variant (rig.report.headline), from the
    comparison rows of the unmap table (display_table's second value)."""
    return headline.lines(unmap_compared, variants(frame), verdicts or {}, complete)


def _metric_section(
    frame: pd.DataFrame,
    metric: str,
    shown: tuple[tables.Table, pd.DataFrame],
    criteria: stats.Criteria,
) -> list[str]:
    table, compared = shown
    lines = ["", f"## {METRICS[metric]} latency (us)", "", *render_markdown(table), ""]
    lines += [f"Verdicts: {line}." for line in tables.verdict_digest(compared)]
    for warning in stats.noise_warnings(frame, compared, metric, criteria):
        lines += ["", f"> **Warning** ({metric}): {warning}."]
    return lines


def markdown(
    frame: pd.DataFrame,
    title_note: str = "",
    counters: pd.DataFrame | None = None,
    criteria: stats.Criteria = stats.DEFAULT_CRITERIA,
    verdicts: dict[str, dict[str, Any]] | None = None,
    *,
    after_unmap: Sequence[str] = (),
    commits: dict[str, str] | None = None,
    pages: str | None = None,
) -> str:
    """summary.md, the answer first: the headline per variant, the plots, the unmap
    table (then `after_unmap`: the hardware-time section's lines, where a run has one),
    correctness, the work counted, the map table, and the configuration last.

    `title_note` is an incomplete run's note (incomplete_note), said before all else;
    `commits` names each variant's commit when two commits were compared; `pages` is
    the kernel's and the IOMMU's page size (run_reader.page_sizes).
    """
    failed = failed_variants(verdicts or {})
    shown = {metric: display_table(frame, metric, criteria, failed) for metric in METRICS}
    note = revert_note(frame)
    lines = [f"# {title(frame)}", "", *([f"> {title_note}", ""] if title_note else [])]
    if commits:
        lines += [f"Commits: {'; '.join(f'{v} = `{c}`' for v, c in commits.items())}.", ""]
    if pages:
        lines += [f"{pages}.", ""]
    complete = not title_note
    lines += [f"- {line}" for line in headlines(frame, shown["unmap"][1], verdicts, complete)]
    lines += ["", *([f"> {note}", ""] if note else [])]
    lines += [
        "Plots: `latency.png` (latency vs size), `improvement.png` (% vs size, 95% CI bars), "
        "`comparison.png` (unmap % vs the seed's hardware numbers). All of it: `report.html`.",
    ]
    lines += ["", how_to_read(frame, criteria)]
    lines += _metric_section(frame, "unmap", shown["unmap"], criteria)
    if after_unmap:
        lines += ["", *after_unmap]
    if verdicts:
        lines += ["", "## Correctness", "", CORRECTNESS_NOTE, ""]
        lines += render_markdown(correctness_table(verdicts))
    if counters is not None:
        lines += ["", "## Work counted per unmap", "", COUNTERS_NOTE, ""]
        lines += render_markdown(tables.counters_table(counters, variants(frame)))
    lines += _metric_section(frame, "map", shown["map"], criteria)
    lines += ["", "## Configuration", "", *configuration_lines(frame, criteria), ""]
    return "\n".join(lines)
