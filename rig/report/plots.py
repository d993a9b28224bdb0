"""Plots people would rather look at than read: latency, improvement with its CI, and the
rig's improvement beside the seed's hardware numbers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rig.report import seed, stats
from rig.report.summary import METRICS, improvement_table, per_size, variants
from rig.sizes import format_size


def _size_axis(axis: Axes, sizes: list[int]) -> None:
    axis.set_xscale("log", base=2)
    axis.set_xticks(sizes)
    axis.set_xticklabels([format_size(s) for s in sizes])
    axis.set_xlabel("buffer size")


def latency_plot(frame: pd.DataFrame, path: Path) -> None:
    names = variants(frame)
    sizes = sorted(int(s) for s in frame["size_bytes"].unique())
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, (metric, title) in zip(axes, METRICS.items(), strict=True):
        by_size = per_size(frame, metric)
        for name in names:
            rows = by_size[by_size["variant"] == name].sort_values("size_bytes")
            low = rows["median"] - rows["min"]
            high = rows["max"] - rows["median"]
            axis.errorbar(
                rows["size_bytes"],
                rows["median"],
                yerr=[low, high],
                marker="o",
                capsize=3,
                label=name,
            )
        _size_axis(axis, sizes)
        axis.set_yscale("log")
        axis.set_ylabel(f"{title.lower()} latency (us, median; bars: min-max over boots)")
        axis.set_title(f"{title} latency vs size")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    _caption(figure, frame)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _ci_errors(table: pd.DataFrame, name: str) -> np.ndarray:
    """Distances from the median change down to the CI's low end and up to its high end;
    zero where there is no interval (fewer than two boots), so no bar is drawn."""
    change = table[f"improvement_pct:{name}"].to_numpy(dtype=float)
    low = change - table[f"ci_low_pct:{name}"].to_numpy(dtype=float)
    high = table[f"ci_high_pct:{name}"].to_numpy(dtype=float) - change
    errors: np.ndarray = np.nan_to_num(np.vstack([low, high]).clip(min=0.0))
    return errors


def _threshold_band(axis: Axes, criteria: stats.Criteria) -> None:
    threshold = criteria.threshold_pct
    axis.axhspan(
        -threshold,
        threshold,
        color="gray",
        alpha=0.12,
        label=f"±{threshold:g}%: below the verdict threshold",
    )
    axis.axhline(0, color="black", linewidth=0.8)


def _limits(values: list[float], threshold: float) -> tuple[float, float]:
    """At least the threshold band plus a margin, so a fraction of a percent does not
    look like a result."""
    finite = [v for v in values if np.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    floor = max(5.0, threshold * 1.5)
    return (min(-floor, low * 1.2), max(floor, high * 1.2))


def improvement_plot(
    frame: pd.DataFrame, path: Path, criteria: stats.Criteria = stats.DEFAULT_CRITERIA
) -> None:
    names = variants(frame)[1:]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, (metric, title) in zip(axes, METRICS.items(), strict=True):
        table = improvement_table(frame, metric, criteria)
        labels = [format_size(int(s)) for s in table.index]
        width = 0.8 / max(len(names), 1)
        seen: list[float] = []
        for offset, name in enumerate(names):
            positions = [i + offset * width for i in range(len(labels))]
            axis.bar(
                positions,
                table[f"improvement_pct:{name}"],
                width=width,
                yerr=_ci_errors(table, name),
                capsize=3,
                label=f"{name} (bars: 95% CI over boots)",
            )
            seen += list(table[f"ci_low_pct:{name}"]) + list(table[f"ci_high_pct:{name}"])
            seen += list(table[f"improvement_pct:{name}"])
        axis.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(labels))])
        axis.set_xticklabels(labels)
        _threshold_band(axis, criteria)
        axis.set_ylim(*_limits(seen, criteria.threshold_pct))
        axis.set_xlabel("buffer size")
        axis.set_ylabel(f"% improvement over {variants(frame)[0]} (median)")
        axis.set_title(f"{title}: % improvement vs size")
        axis.grid(True, axis="y", alpha=0.3)
        axis.legend(fontsize=8)
    _caption(figure, frame)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def comparison_plot(
    frame: pd.DataFrame,
    reference: pd.DataFrame,
    path: Path,
    device: str,
    criteria: stats.Criteria = stats.DEFAULT_CRITERIA,
    *,
    hardware: pd.DataFrame | None = None,
) -> None:
    """Unmap % improvement vs size: the rig's medians with CI bars, the seed's table beside.

    `reference` is one seed table (seed.table()); `device` names the emulated SMMU the
    run measured (report.device_label). The seed's points are nudged right so bars and
    markers at the same size do not hide each other. With `hardware` (a run on a timed
    profile: hardware_report.comparison()), a second panel sets the rig's latencies in
    hardware-equivalent us beside the seed's.
    """
    names = variants(frame)[1:]
    table = improvement_table(frame, "unmap", criteria)
    table_name = str(reference["table"].iloc[0]) if not reference.empty else seed.NO_WORKAROUND
    mode = str(frame["mode"].iloc[0])
    clock = "instruction-counted time" if mode == "icount" else "host time under TCG"
    if hardware is None:
        figure, axis = plt.subplots(figsize=(9, 5))
    else:
        figure, (axis, absolute) = plt.subplots(1, 2, figsize=(15, 5.5))
        _absolute_panel(absolute, hardware, frame)
        clock = "instruction-counted time scaled to hardware by the profile's timing"
    seen: list[float] = []
    for name in names:
        axis.errorbar(
            table.index.to_numpy(dtype=float),
            table[f"improvement_pct:{name}"],
            yerr=_ci_errors(table, name),
            marker="o",
            capsize=4,
            linewidth=1.5,
            label=f"rig, {name} vs {variants(frame)[0]}: {device}, {mode} ratios (bars: 95% CI)",
        )
        seen += list(table[f"ci_low_pct:{name}"]) + list(table[f"ci_high_pct:{name}"])
    axis.plot(
        reference["size_bytes"].to_numpy(dtype=float) * 2**0.08,
        reference["improvement_pct"],
        marker="s",
        markerfacecolor="none",
        linestyle="--",
        color="black",
        label=f"seed, hardware: {seed.HARDWARE}\n({seed.TABLES[table_name]})",
    )
    seen += list(reference["improvement_pct"])
    sizes = sorted({int(s) for s in table.index} | {int(s) for s in reference["size_bytes"]})
    _size_axis(axis, sizes)
    _threshold_band(axis, criteria)
    axis.set_ylim(*_limits(seen, criteria.threshold_pct))
    axis.set_ylabel(f"unmap % improvement over {variants(frame)[0]}")
    axis.set_title("Unmap: % improvement vs size, rig (emulated) and seed (hardware)")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    figure.text(
        0.01,
        0.01,
        f"rig: QEMU, {device}, {clock}"
        + ("" if hardware is not None else ", so only its ratios mean anything")
        + "; seed: unmap latency on real hardware as posted in the May 2024 RFC thread",
        fontsize=7,
        color="dimgray",
    )
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _absolute_panel(axis: Axes, hardware: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Unmap latency in hardware-equivalent us (rig) and us (seed), both variants."""
    names = variants(frame)
    sizes = hardware["size_bytes"].to_numpy(dtype=float)
    for column, seed_column, name, color in (
        ("rig_without_us", "seed_without_us", names[0], "tab:red"),
        ("rig_with_us", "seed_with_us", names[-1], "tab:blue"),
    ):
        axis.plot(sizes, hardware[column], marker="o", color=color, label=f"rig, {name}")
        axis.plot(
            sizes,
            hardware[seed_column],
            marker="s",
            markerfacecolor="none",
            linestyle="--",
            color=color,
            label="seed, " + ("without the patch" if column == "rig_without_us" else "with it"),
        )
    axis.set_yscale("log")
    _size_axis(axis, [int(s) for s in sizes])
    axis.set_ylabel("unmap latency (us; rig: hardware-equivalent)")
    axis.set_title("Unmap latency: rig (calibrated timing) and seed (hardware)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8, loc="upper left")


def _caption(figure: Figure, frame: pd.DataFrame) -> None:
    mode = str(frame["mode"].iloc[0])
    note = (
        "icount: instruction-counted guest time; only ratios are meaningful"
        if mode == "icount"
        else "wallclock: host time under TCG"
    )
    figure.text(
        0.01,
        0.01,
        f"profile {frame['profile'].iloc[0]}, mode {mode} ({note})",
        fontsize=8,
        color="dimgray",
    )
