"""Plots people would rather look at than read: latency vs size, improvement vs size."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rig.sizes import format_size
from rig.summary import METRICS, improvement_table, per_size, variants


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
        stats = per_size(frame, metric)
        for name in names:
            rows = stats[stats["variant"] == name].sort_values("size_bytes")
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


def improvement_plot(frame: pd.DataFrame, path: Path) -> None:
    names = variants(frame)[1:]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, (metric, title) in zip(axes, METRICS.items(), strict=True):
        table = improvement_table(frame, metric)
        labels = [format_size(int(s)) for s in table.index]
        width = 0.8 / max(len(names), 1)
        for offset, name in enumerate(names):
            positions = [i + offset * width for i in range(len(labels))]
            axis.bar(positions, table[f"improvement_pct:{name}"], width=width, label=name)
        axis.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(labels))])
        axis.set_xticklabels(labels)
        axis.axhline(0, color="black", linewidth=0.8)
        # At least +-5% on the axis, so a fraction of a percent does not look like a result.
        values = table[[f"improvement_pct:{name}" for name in names]].to_numpy()
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        axis.set_ylim(min(-5.0, low * 1.2), max(5.0, high * 1.2))
        axis.set_xlabel("buffer size")
        axis.set_ylabel("% improvement over baseline (median)")
        axis.set_title(f"{title}: % improvement vs size")
        axis.grid(True, axis="y", alpha=0.3)
        if names:
            axis.legend()
    _caption(figure, frame)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


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
