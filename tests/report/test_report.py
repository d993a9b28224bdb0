"""summary.md, plots and report.html from a results.csv captured from a real default run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure

from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK, UserError
from rig.report import run_reader, run_report, summary, tables, work_counters
from tests import locations

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_dir(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(data_dir / "results-default.csv", folder / "results.csv")
    return folder


def test_report_rebuilds_everything_from_csv_alone(run_dir: Path) -> None:
    assert main(["report", str(run_dir)]) == EXIT_OK
    text = (run_dir / "summary.md").read_text()
    assert "## Unmap latency (us)" in text and "## Map latency (us)" in text
    header = (
        "| Size | baseline (us) | baseline spread | final (us) | final spread "
        "| final % improvement | final 95% CI | final p | final verdict |"
    )
    assert header in text
    assert (
        "| 1M | 597.1 | 0.0% | 287.2 | 0.0% | +51.90% | [+51.90, +51.92] | 0.10 | **improved** |"
        in text
    )
    four_k = "| 4K | 30.7 | 0.0% | 31.1 | 0.0% | -1.30% | [-1.30, -1.30] | 0.10 |"
    assert f"{four_k} no significant change |" in text
    assert (
        "Verdicts: final: improved at 64K, 128K, 256K, 512K, 1M; "
        "no significant change at 4K, 2M, 4M." in text
    )
    assert "only ratios between variants are" in text  # icount caveat
    assert "verdict threshold: 5%" in text
    assert "Work counted per unmap" not in text  # no counters.csv, no section
    assert "Warning" not in text  # icount boots agree to well within the threshold
    for name in ("latency.png", "improvement.png", "comparison.png"):
        assert (run_dir / name).read_bytes()[:8] == PNG
    page = (run_dir / "report.html").read_text()
    assert "run.json not found" in page


def test_improvement_table_keeps_the_seed_formula_and_adds_the_ci(data_dir: Path) -> None:
    frame = run_reader.load(data_dir / "results-default.csv")
    table = summary.improvement_table(frame, "unmap")
    one_mb = table.loc[1024 * 1024]
    expected = (one_mb["baseline"] - one_mb["final"]) / one_mb["baseline"] * 100
    assert one_mb["improvement_pct:final"] == pytest.approx(expected)
    assert one_mb["ci_low_pct:final"] <= expected <= one_mb["ci_high_pct:final"]
    assert one_mb["verdict:final"] == "improved"
    assert table["improvement_pct:final"][4096] < 5  # 4K: nothing to batch
    assert table["verdict:final"][4096] == "no significant change"


def test_every_patched_variant_gets_its_columns(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv")
    rfc = frame[frame["variant"] == "final"].copy()
    rfc["variant"] = "rfc"
    rfc["unmap_us"] = rfc["unmap_us"] * 1.10
    text = summary.markdown(pd.concat([frame, rfc]))
    assert "| rfc (us) | rfc spread |" in text
    assert "| final verdict | rfc % improvement | rfc 95% CI | rfc p | rfc verdict |" in text
    verdicts = [line for line in text.splitlines() if line.startswith("Verdicts: rfc:")]
    assert verdicts[0].startswith("Verdicts: rfc: improved at 64K, 128K, 256K, 512K, 1M")


def test_regressions_are_spelled_out(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv")
    slower = frame["variant"] == "final"
    frame.loc[slower, "map_us"] = frame.loc[slower, "map_us"] * 1.2
    text = summary.markdown(frame)
    map_part = text.split("## Map latency (us)")[1]
    assert "**regressed**" in map_part and "regressed at 4K" in map_part


def test_counters_section_when_counters_csv_is_present(run_dir: Path, data_dir: Path) -> None:
    shutil.copy(data_dir / "counters-default.csv", run_dir / "counters.csv")
    run_report.build(run_dir)
    text = (run_dir / "summary.md").read_text()
    section = text.split("## Work counted per unmap")[1]
    assert (
        "| Size | syncs/unmap baseline | syncs/unmap final | minimum syncs/unmap "
        "| TLB add-page/unmap baseline | TLB add-page/unmap final |"
    ) in section
    assert "| 1M | 256 | 1 | 1 | 256 | 256 |" in section
    assert "| 4M | 2 | 1 | 1 | 2 | 2 |" in section
    assert "| 4K | 1 | 1 | 1 | 1 | 1 |" in section


def test_counters_with_fractional_counts_and_extra_columns(run_dir: Path, data_dir: Path) -> None:
    counted = pd.read_csv(data_dir / "counters-default.csv")
    counted["syncs_min"] = counted["syncs_per_unmap"]  # the rig's own file has more columns
    counted["syncs_per_unmap"] = counted["syncs_per_unmap"].astype(float)
    counted.loc[0, "syncs_per_unmap"] = 1.0625
    counted.to_csv(run_dir / "counters.csv", index=False)
    run_report.build(run_dir)
    assert "| 4K | 1.06 | 1 | 1 | 1 | 1 |" in (run_dir / "summary.md").read_text()


def test_counters_missing_column_is_named(run_dir: Path, data_dir: Path) -> None:
    counted = pd.read_csv(data_dir / "counters-default.csv").drop(columns=["min_syncs_per_unmap"])
    counted.to_csv(run_dir / "counters.csv", index=False)
    with pytest.raises(UserError) as caught:
        run_report.build(run_dir)
    assert "min_syncs_per_unmap" in caught.value.message and "counters.csv" in caught.value.message


def test_counters_fixture_is_what_the_batched_unmap_predicts(data_dir: Path) -> None:
    assert work_counters.load(data_dir / "no-such-run") is None  # the file is optional
    frame = pd.read_csv(data_dir / "counters-default.csv")
    work_counters.check(frame, "fixture")
    by = frame.set_index(["variant", "size_bytes"])
    for size in (4096, 65536, 1024 * 1024):
        # One PTE per 4K page up to a leaf table: one TLB add-page per PTE in both kernels.
        assert by.loc[("baseline", size), "tlb_add_page_per_unmap"] == size // 4096
        assert by.loc[("final", size), "syncs_per_unmap"] == 1


def test_threshold_option_changes_verdicts(run_dir: Path) -> None:
    assert main(["report", str(run_dir), "--threshold", "1"]) == EXIT_OK
    text = (run_dir / "summary.md").read_text()
    assert "verdict threshold: 1%" in text
    assert (
        "| 4K | 30.7 | 0.0% | 31.1 | 0.0% | -1.30% | [-1.30, -1.30] | 0.10 | **regressed** |"
        in text
    )


@pytest.mark.parametrize("bad", ["0", "-3", "150"])
def test_threshold_out_of_range_exits_2(run_dir: Path, bad: str) -> None:
    assert main(["report", str(run_dir), f"--threshold={bad}"]) == EXIT_BAD_INPUT


def test_threshold_recorded_in_run_json_is_used(run_dir: Path, data_dir: Path) -> None:
    info = json.loads((data_dir / "run-default.json").read_text())
    info["settings"]["threshold_pct"] = 2.5
    (run_dir / "run.json").write_text(json.dumps(info))
    run_report.build(run_dir)
    assert "verdict threshold: 2.5%" in (run_dir / "summary.md").read_text()
    run_report.build(run_dir, threshold_pct=7)  # the command line wins
    assert "verdict threshold: 7%" in (run_dir / "summary.md").read_text()


def test_unreadable_run_json_is_bad_input(run_dir: Path) -> None:
    (run_dir / "run.json").write_text("{not json")
    assert main(["report", str(run_dir)]) == EXIT_BAD_INPUT


def test_baseline_only_run_still_reports(run_dir: Path) -> None:
    frame = pd.read_csv(run_dir / "results.csv")
    frame = frame[(frame["variant"] == "baseline") & (frame["repeat"] == 1)]
    frame.to_csv(run_dir / "results.csv", index=False)
    run_report.build(run_dir)
    text = (run_dir / "summary.md").read_text()
    assert "| Size | baseline (us) | baseline spread |" in text
    assert "baseline has a single boot at 4K, 64K" in text


def test_spread_is_max_minus_min_over_median(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv")
    rows = (frame["variant"] == "baseline") & (frame["size_bytes"] == 4096)
    frame.loc[rows, "unmap_us"] = [10.0, 11.0, 12.0]
    by_size = summary.per_size(frame, "unmap")
    row = by_size[(by_size["variant"] == "baseline") & (by_size["size_bytes"] == 4096)].iloc[0]
    assert row["spread_pct"] == pytest.approx(2.0 / 11.0 * 100)


def test_missing_column_is_named(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "results-default.csv").drop(columns=["unmap_us"])
    (tmp_path / "results.csv").write_text(frame.to_csv(index=False))
    with pytest.raises(UserError) as caught:
        run_report.build(tmp_path)
    assert "unmap_us" in caught.value.message


def test_report_on_missing_run_exits_2(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope")]) == EXIT_BAD_INPUT


def test_an_incomplete_run_reports_what_it_measured_and_says_so(run_dir: Path) -> None:
    """A run that failed late (say, in its counting boot) keeps its timed results, and
    its report says first that it is incomplete and why."""
    (run_dir / "INCOMPLETE").write_text("counting pass: kernel 6.12 has no traceable X\n")
    run_report.build(run_dir)
    text = (run_dir / "summary.md").read_text()
    first = text.split("\n## ")[0]
    assert "**Incomplete run** (counting pass: kernel 6.12 has no traceable X)" in first
    assert "no verdict here says the patch is correct" in first
    assert "| 1M |" in text
    assert "Incomplete run" in (run_dir / "report.html").read_text()


def test_an_incomplete_run_with_nothing_timed_gets_no_report(tmp_path: Path) -> None:
    (tmp_path / "INCOMPLETE").write_text("interrupted\n")
    with pytest.raises(UserError) as caught:
        run_report.build(tmp_path)
    assert "stopped before any timed result" in caught.value.message
    assert not (tmp_path / "summary.md").exists()


def test_missing_latest_says_what_to_pass(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(UserError) as caught:
        run_report.build(run_dir.parent / "latest")
    message = caught.value.message
    assert "no such run folder" in message and "a fresh clone has none" in message
    assert "make report RUN=<folder>" in message and str(run_dir) in message


def test_report_on_missing_latest_exits_2_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "latest")]) == EXIT_BAD_INPUT
    assert "latest: no such run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("recorded", "profile_name", "label"),
    [
        (
            {"iommu": "mmu500", "walk": "noncoherent"},
            "x",
            "emulated Arm MMU-500 (SMMUv2), non-coherent walk",
        ),
        ({"iommu": "smmuv3", "walk": "coherent"}, "x", "emulated SMMUv3, coherent walk"),
        (None, "mmu500-coherent", "emulated Arm MMU-500 (SMMUv2), coherent walk"),
        (None, "smmuv3-noncoherent", "emulated SMMUv3, non-coherent walk"),
        (None, "my-own-profile", "profile my-own-profile"),
    ],
)
def test_device_label_comes_from_the_runs_profile(
    recorded: dict[str, str] | None, profile_name: str, label: str
) -> None:
    run_info = {"profile": recorded} if recorded else None
    assert run_report.device_label(run_info, profile_name) == label


def test_an_mmu500_run_is_labelled_mmu500_in_its_comparison_plot(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.read_csv(run_dir / "results.csv")
    frame["profile"] = "mmu500-noncoherent"
    frame.to_csv(run_dir / "results.csv", index=False)
    words: list[str] = []
    real_savefig = Figure.savefig

    def savefig(figure: Figure, *args: Any, **kwargs: Any) -> None:
        for axis in figure.axes:
            legend = axis.get_legend()
            words.extend(text.get_text() for text in (legend.get_texts() if legend else []))
        words.extend(text.get_text() for text in figure.texts)
        real_savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    run_report.build(run_dir)
    text = "\n".join(words)
    assert "emulated Arm MMU-500 (SMMUv2), non-coherent walk" in text
    assert "SMMUv3" not in text


def test_bytes_cleaned_appear_where_the_kernel_gave_them(data_dir: Path) -> None:
    counted = pd.read_csv(data_dir / "counters-default.csv")
    plain = tables.counters_table(counted, ["baseline", "final"])
    assert not any("bytes cleaned" in column for column in plain.header)
    counted["bytes_cleaned_per_unmap"] = counted["size_bytes"] // 4096 * 8
    with_bytes = tables.counters_table(counted, ["baseline", "final"])
    assert "bytes cleaned/unmap final" in with_bytes.header
    row_64k = next(row for row in with_bytes.rows if row[0] == "64K")
    assert row_64k[-1] == "128"


REVERT_RUN = locations.REPO / "results" / ("20261124-211432-smmuv3-noncoherent-icount")


@pytest.fixture
def revert_run(tmp_path: Path) -> Path:
    """The published 6.12 run: the upstream code (baseline) against its revert."""
    folder = tmp_path / "revert-run"
    folder.mkdir()
    for name in ("results.csv", "counters.csv", "run.json", "correctness.json"):
        shutil.copy(REVERT_RUN / name, folder / name)
    return folder


def test_a_revert_run_reads_without_with_improvement(revert_run: Path) -> None:
    run_report.build(revert_run)
    text = (revert_run / "summary.md").read_text()
    assert "Revert run" in text and "`revert-final-6-12` is the tree with it reverted" in text
    header = next(line for line in text.splitlines() if line.startswith("| Size | revert"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    # without (the revert) first, then with (upstream), then the change's % improvement
    assert columns[1] == "revert-final-6-12 (us)" and columns[3] == "baseline (us)"
    assert columns[5] == "baseline % improvement"
    row_1m = next(line for line in text.splitlines() if line.startswith("| 1M | 649.2"))
    assert "+55.05%" in row_1m and "**improved**" in row_1m
    assert "Revert run" in (revert_run / "report.html").read_text()


def test_without_run_json_a_revert_run_is_reported_as_recorded(revert_run: Path) -> None:
    (revert_run / "run.json").unlink()
    run_report.build(revert_run)
    text = (revert_run / "summary.md").read_text()
    assert "Revert run" not in text and "revert-final-6-12 % improvement" in text


def test_a_failed_revert_voids_the_comparison(revert_run: Path) -> None:
    verdicts = json.loads((revert_run / "correctness.json").read_text())
    verdicts["revert-final-6-12"]["verdict"] = "FAILED"
    (revert_run / "correctness.json").write_text(json.dumps(verdicts))
    run_report.build(revert_run)
    text = (revert_run / "summary.md").read_text()
    assert "**improved**" not in text.split("## Unmap latency")[1].split("## Map")[0]
