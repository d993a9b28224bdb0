"""`rig bisect` end to end on a small history over Debian's 6.1 tree (tests/e2e/
kernel_history.py): it names the commit that reverts the batched unmap in at most
ceil(log2(8)) + 2 builds, skips a commit that does not compile and still finds it, stops
with exit 2 when the ends do not differ, and leaves the repository byte for byte as it
was. The history lives in the cache so that a second run reuses its kernels."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest

from rig import paths
from rig.build import source
from rig.build.user_trees import fingerprint
from rig.cli import main
from rig.errors import EXIT_BAD_INPUT, EXIT_OK
from tests import trees
from tests.e2e import kernel_history
from tests.e2e.kernel_history import History

pytestmark = pytest.mark.e2e

BATCHED = "iommu/io-pgtable-arm: Optimise non-coherent unmap"
REVERT = 'Revert "iommu/io-pgtable-arm: Optimise non-coherent unmap"'
BROKEN = "iommu: a change that does not compile"
FIXED = "iommu: fix the build"


@pytest.fixture(scope="module")
def history() -> History:
    # Named by the writer's own text: a changed history is written anew.
    recipe = hashlib.sha256(Path(kernel_history.__file__).read_bytes()).hexdigest()[:12]
    home = paths.cache_root() / "test-histories" / f"bisect-6.1-{recipe}"
    recorded = home / "commits.json"
    if recorded.is_file() and (home / "linux" / ".git").is_dir():
        return History(home / "linux", json.loads(recorded.read_text()))
    shutil.rmtree(home, ignore_errors=True)
    # Copied under the rig's tree lock: a run on another make test worker patches the
    # same tree under it.
    with trees.unpatched(source.resolve(None, paths.cache_root(), "debian:6.1")) as debian:
        built = kernel_history.build(debian, home / "linux")
    recorded.write_text(json.dumps(built.commits, indent=2) + "\n")
    return built


def snapshot(repo: Path) -> tuple[str, dict[str, str]]:
    """The checkout's files (path, size, mtime) and every byte of the repository."""
    git = {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (repo / ".git").rglob("*")
        if p.is_file()
    }
    return fingerprint(repo), git


def bisect(
    history: History, good: str, bad: str, out: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    code = main(
        [
            "bisect",
            "--kernel-src",
            str(history.repo),
            history[good],
            history[bad],
            "--metric",
            "unmap",
            "--size",
            "1M",
            "--quiet",
            "--out",
            str(out),
            *extra,
        ]
    )
    (folder,) = out.glob("bisect-*")
    return code, json.loads((folder / "bisect.json").read_text())


def test_bisect_names_the_revert_in_log2_plus_two_builds(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(history.repo)
    code, found = bisect(history, BATCHED, "Documentation: iommu: a third unrelated edit", tmp_path)
    printed = capsys.readouterr().out
    assert code == EXIT_OK, printed
    result = found["result"]
    assert isinstance(result, dict) and result["first_bad"] == history[REVERT]
    assert f"first bad commit: {history[REVERT]} ({REVERT})" in printed
    assert f"--ref {history[FIXED]} --ref {history[REVERT]}" in result["reproduce"]
    steps = found["steps"]
    assert isinstance(steps, list)
    assert len(steps) <= math.ceil(math.log2(8)) + 2
    by_commit = {s["commit"]: s for s in steps}
    # The two measurements around it: the batched unmap is faster at 1M by far.
    good, bad = by_commit[history[FIXED]], by_commit[history[REVERT]]
    assert (good["mark"], bad["mark"]) == ("good", "bad")
    assert bad["median_us"] > 1.1 * good["median_us"]
    # Each step booted the kernel of its own commit (the run's identity gate checked
    # uname -r against the build; run.json names the commit).
    folder = next(tmp_path.glob("bisect-*"))
    for step in steps:
        run = json.loads((folder / step["run_dir"] / "run.json").read_text())
        assert run["kernel"]["source"]["commit"] == step["commit"]
    assert snapshot(history.repo) == before


def test_a_commit_that_does_not_compile_is_skipped_and_the_revert_still_found(
    history: History, tmp_path: Path
) -> None:
    before = snapshot(history.repo)
    code, found = bisect(
        history,
        "Documentation: iommu: an unrelated edit",
        "Documentation: iommu: another unrelated edit",
        tmp_path,
    )
    assert code == EXIT_OK
    steps = {s["commit"]: s for s in found["steps"]}  # type: ignore[attr-defined]
    assert steps[history[BROKEN]]["mark"] == "skip"
    assert steps[history[BROKEN]]["why"] == "does not build"
    assert found["result"]["first_bad"] == history[REVERT]  # type: ignore[index]
    assert snapshot(history.repo) == before


def test_ends_that_do_not_differ_stop_with_exit_2(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = bisect(history, BATCHED, FIXED, tmp_path)
    assert code == EXIT_BAD_INPUT
    assert "do not differ by more than the 5% threshold" in capsys.readouterr().err
    result = found["result"]
    assert isinstance(result, dict) and result["status"] == "refused"
    assert "do not differ" in result["reason"]


def test_correctness_finds_the_first_commit_that_fails_a_check(
    history: History, tmp_path: Path
) -> None:
    broken = "iommu/io-pgtable-arm: batch unmap, but never gather the leaves"
    code, found = bisect(
        history,
        "Documentation: iommu: a third unrelated edit",
        "Documentation: iommu: a fourth unrelated edit",
        tmp_path,
        "--correctness",
    )
    assert code == EXIT_OK
    result = found["result"]
    assert isinstance(result, dict) and result["first_bad"] == history[broken]
    steps = {s["commit"]: s for s in found["steps"]}  # type: ignore[attr-defined]
    # Caught by a named check (the model's sanitizer, or DMA after unmap), never a timeout.
    check = steps[history[broken]]["failed_check"]
    assert check and "timeout" not in check, steps[history[broken]]
    assert steps[history["iommu: a third unrelated comment"]]["mark"] == "good"


def test_two_refs_compare_two_commits_in_one_run(history: History, tmp_path: Path) -> None:
    before = snapshot(history.repo)
    code = main(
        [
            "bench",
            "--kernel-src",
            str(history.repo),
            "--ref",
            history[FIXED],
            "--ref",
            history[REVERT][:12],
            "--sizes",
            "1M",
            "--repeat",
            "1",
            "--no-counters",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == EXIT_OK
    run = tmp_path / "latest"
    label = history[REVERT][:12]
    summary = (run / "summary.md").read_text()
    assert f"Commits: baseline = `{history[FIXED][:12]} {FIXED}`; {label} = `{label} {REVERT}`" in (
        summary
    )
    recorded = json.loads((run / "run.json").read_text())
    sources = {v["name"]: v["source"]["commit"] for v in recorded["variants"]}
    assert sources == {"baseline": history[FIXED], label: history[REVERT]}
    # The revert is the slower one at 1M, as the bisection measured it.
    with (run / "results.csv").open() as handle:
        unmap = {row["variant"]: float(row["unmap_us"]) for row in csv.DictReader(handle)}
    assert unmap[label] > 1.5 * unmap["baseline"], unmap
    assert snapshot(history.repo) == before
