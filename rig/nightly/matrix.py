"""The nightly matrix (nightly.yaml): kernels x machine profiles, one ordinary run each.

A cell is one `rig bench` run: a kernel by name, a profile, the patches it measures
(the seed's patch forward on a kernel without it, its revert on one that has it
merged), and the matrix's sizes and repeats over the rest of bench.yaml. Cells run
``jobs`` at a time, each a `rig matrix --cell NAME` process of its own (so its
progress, timings and failures stay its own); a failed cell is recorded and the next
one runs. The summary names each cell's run folder and its unmap change at every size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import paths
from rig.boot import profile as prof
from rig.build import source
from rig.errors import RigError, UserError
from rig.progress import Progress
from rig.report import run_reader, run_report
from rig.run import pipeline, plan, settings
from rig.schema import build, read_yaml_mapping
from rig.sizes import format_size

FILE = paths.REPO / "nightly.yaml"


@dataclass(frozen=True)
class MatrixFile:
    kernels: dict[str, list[str]]
    profiles: tuple[str, ...]
    sizes: tuple[str, ...] = ("4K", "64K", "1M")
    repeat: int = 2


@dataclass(frozen=True)
class Cell:
    name: str
    kernel: str
    profile: str
    patches: tuple[str, ...]


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    status: str  # "passed", "FAILED" (a variant failed a check) or "error"
    run_dir: Path | None
    detail: str


def cell_name(kernel: str, profile_name: str) -> str:
    """debian:6.1 -> 6.1-PROFILE; git:URL@BRANCH -> REPO-BRANCH-PROFILE."""
    return f"{source.kernel_label(kernel)}-{profile_name}"


def load(path: Path = FILE) -> tuple[MatrixFile, list[Cell]]:
    """The matrix and its cells, kernels x profiles in file order; every mistake names
    the file and the key."""
    data = read_yaml_mapping(path)
    raw_kernels = data.get("kernels")
    if not isinstance(raw_kernels, dict) or not raw_kernels:
        raise UserError(
            f"{path}: key 'kernels' must map kernel names (debian:6.1, ...) to the "
            "patches measured on each, e.g. debian:6.1: [final]"
        )
    for kernel, patches in raw_kernels.items():
        try:
            source.check_kernel_name(str(kernel))
        except UserError as err:
            raise UserError(f"{path}: key 'kernels': {err.message}") from None
        if not isinstance(patches, list) or not all(isinstance(p, str) for p in patches):
            raise UserError(
                f"{path}: key 'kernels' -> {kernel!r}: expected a list of patch names, "
                f"got {patches!r}"
            )
    matrix = build(
        MatrixFile,
        {k: v for k, v in data.items() if k != "kernels"},
        str(path),
        kernels={str(k): list(v) for k, v in raw_kernels.items()},
    )
    known = prof.available_profiles()
    for name in matrix.profiles:
        if name not in known:
            raise UserError(
                f"{path}: key 'profiles': unknown profile {name!r}; known: {', '.join(known)}"
            )
    if matrix.repeat < 1:
        raise UserError(f"{path}: key 'repeat' must be at least 1, got {matrix.repeat}")
    cells = [
        Cell(cell_name(kernel, name), kernel, name, tuple(patches))
        for kernel, patches in matrix.kernels.items()
        for name in matrix.profiles
    ]
    return matrix, cells


def choose(cells: list[Cell], name: str | None) -> list[Cell]:
    if name is None:
        return cells
    chosen = [c for c in cells if c.name == name]
    if not chosen:
        raise UserError(
            f"--cell {name!r} is not in the matrix; cells: {', '.join(c.name for c in cells)}"
        )
    return chosen


def settings_for(base: settings.Settings, matrix: MatrixFile, cell: Cell) -> settings.Settings:
    return settings.override(
        base,
        {
            "kernel": cell.kernel,
            "profile": cell.profile,
            "patches": cell.patches,
            "sizes": matrix.sizes,
            "repeat": matrix.repeat,
        },
    )


def job_of(cell: Cell) -> dict[str, str]:
    """A cell as a CI matrix entry."""
    return {
        "cell": cell.name,
        "kernel": cell.kernel,
        "profile": cell.profile,
        "patches": ",".join(cell.patches),
    }


def run_cell(
    base: settings.Settings, matrix: MatrixFile, cell: Cell, out: Path, progress: Progress
) -> CellResult:
    try:
        chosen = settings_for(base, matrix, cell)
        inputs = plan.resolve_inputs(chosen, None, out, paths.cache_root())
        outcome = pipeline.run(inputs, progress, run_report.write)
    except RigError as err:
        return CellResult(cell, "error", None, err.message.splitlines()[0])
    if outcome.failed_variants:
        failed = ", ".join(outcome.failed_variants)
        return CellResult(cell, "FAILED", outcome.path, f"{failed} FAILED a correctness check")
    return CellResult(cell, "passed", outcome.path, "")


def run(
    base: settings.Settings, matrix: MatrixFile, cells: list[Cell], out: Path, progress: Progress
) -> list[CellResult]:
    """The cells one after another in this process, each sweep with ``base.jobs`` boots
    at once."""
    results = []
    for number, cell in enumerate(cells, start=1):
        progress.say(f"==> cell {number}/{len(cells)}: {cell.name} ({', '.join(cell.patches)})")
        result = run_cell(base, matrix, cell, out, progress)
        progress.say(f"    {cell.name}: {result.status} {result.detail}".rstrip())
        results.append(result)
    return results


@dataclass(frozen=True)
class Files:
    """Where the cells' processes read the matrix and settings from, and write to."""

    matrix: Path
    config: Path
    out: Path


def run_at_once(files: Files, cells: list[Cell], jobs: int, progress: Progress) -> list[CellResult]:
    """``jobs`` cells at a time, each `python -m rig matrix --cell NAME --jobs 1` (one
    boot at a time, so at most ``jobs`` QEMUs run). Their output is streamed line by
    line under the cell's name; results come back in the matrix's order."""
    lock = threading.Lock()
    children: list[subprocess.Popen[str]] = []

    def one(cell: Cell) -> CellResult:
        with tempfile.TemporaryDirectory(prefix="smmu-rig-cell-") as scratch:
            record = Path(scratch) / "result.json"
            argv = [
                sys.executable, "-m", "rig", "matrix", "--cell", cell.name,
                "--file", str(files.matrix), "--config", str(files.config),
                "--out", str(files.out), "--jobs", "1", "--result-file", str(record),
            ]  # fmt: skip
            with lock:
                progress.say(f"==> cell {cell.name} ({', '.join(cell.patches)}) started")
            child = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=paths.REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            with lock:
                children.append(child)
            assert child.stdout is not None
            for line in child.stdout:
                if not progress.quiet:
                    print(f"[{cell.name}] {line.rstrip()}", file=sys.stderr, flush=True)
            code = child.wait()
            if record.is_file():
                result = result_from_json(cell, record.read_text())
            else:
                result = CellResult(cell, "error", None, f"the cell's process ended with {code}")
        with lock:
            progress.say(f"    {cell.name}: {result.status} {result.detail}".rstrip())
        return result

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cell")
    try:
        results = list(pool.map(one, cells))
    except BaseException:
        # Ctrl-C or a stop reaches this process only: each cell stops its own QEMU.
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for child in children:
                if child.poll() is None:
                    child.terminate()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    return results


def result_json(result: CellResult) -> str:
    return json.dumps(
        {
            "cell": result.cell.name,
            "status": result.status,
            "run_dir": str(result.run_dir) if result.run_dir is not None else None,
            "detail": result.detail,
        }
    )


def result_from_json(cell: Cell, text: str) -> CellResult:
    data = json.loads(text)
    run_dir = Path(data["run_dir"]) if data["run_dir"] else None
    return CellResult(cell, str(data["status"]), run_dir, str(data["detail"]))


def _unmap_changes(run_dir: Path) -> dict[int, str]:
    """Size -> the measured variant's unmap change and verdict, as the run judged it."""
    rows = run_reader.rows_of(run_dir)
    cells: dict[int, str] = {}
    for row in rows:
        if row["metric"] == "unmap" and row["verdict"] is not None and row["repeat"] == 1:
            cells[int(row["size_bytes"])] = f"{row['change_pct']:+.1f}% {row['verdict']}"
    return cells


def summary(results: list[CellResult], matrix: MatrixFile) -> str:
    """A markdown table: each cell, its result, its run folder, unmap change per size."""
    sizes: list[int] = []
    changes: dict[str, dict[int, str]] = {}
    for result in results:
        if result.run_dir is not None:
            changes[result.cell.name] = _unmap_changes(result.run_dir)
            sizes.extend(s for s in changes[result.cell.name] if s not in sizes)
    sizes.sort()
    head = ["cell", "patches", "result", *[f"unmap {format_size(s)}" for s in sizes], "run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in results:
        found: dict[int, Any] = changes.get(result.cell.name, {})
        status = result.status if not result.detail else f"{result.status}: {result.detail}"
        run_dir = result.run_dir.name if result.run_dir is not None else "-"
        row = [
            result.cell.name,
            ", ".join(result.cell.patches),
            status,
            *[found.get(s, "-") for s in sizes],
            run_dir,
        ]
        lines.append("| " + " | ".join(row) + " |")
    green = sum(r.status == "passed" for r in results)
    lines.append("")
    lines.append(f"{green} of {len(results)} cells passed (sizes {', '.join(matrix.sizes)}).")
    return "\n".join(lines)
