"""Apply kernel patches to a source tree, check them first, and always take them out again.

A patch that does not apply is refused before the tree changes, with its failing hunks;
one the tree already carries (or a revert of one it lacks) is named with the fix. A
series is checked patch by patch, each on top of the ones before it, in a scratch copy
of the files it touches. A run killed with patches applied leaves markers that the
next run uses to restore the tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rig.build.patches import Patch
from rig.errors import RunFailed, UserError

MARKER_PREFIX = ".rig-applied-patch-"
_HUNK_FAILED = re.compile(r"Hunk #(\d+) FAILED at (\d+)")
# First line of the copy kept while a patch is applied in reverse; GNU patch skips it
# as leading text when the copy is used to undo the revert.
_REVERSED_HEADER = "smmu-rig: applied in reverse (undo by applying forward)\n"


def run_patch(diff: Path, tree: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """GNU patch -p1 on ``tree`` with ``diff`` as input; never prompts, never leaves .orig."""
    with diff.open() as stdin:
        return subprocess.run(
            ["patch", "-p1", "--batch", "--no-backup-if-mismatch", "-d", str(tree), *options],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )


# Exact context only, as with git apply: GNU patch's default fuzz would apply a stale
# hunk somewhere near and build something nobody wrote.
APPLY = ("--forward", "--fuzz=0")


def _run_patch(patch: Patch, tree: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_patch(patch.path, tree, *APPLY, *patch.direction, *extra)


def failing_hunks(diff: Path, patch_output: str) -> str:
    """The text of each hunk of ``diff`` GNU patch reported as FAILED, its words first."""
    wanted = {int(number) for number, _ in _HUNK_FAILED.findall(patch_output)}
    lines = diff.read_text(errors="replace").splitlines()
    shown: list[str] = []
    hunk_number = 0
    current_file = ""
    keep = False
    for line in lines:
        if line.startswith("+++ b/"):
            current_file = line[6:].split("\t")[0]
            hunk_number = 0
            keep = False
            continue
        if line.startswith("@@"):
            hunk_number += 1
            keep = hunk_number in wanted
            if keep:
                shown.append(f"{current_file}, hunk #{hunk_number}:")
        elif line.startswith(("--- ", "diff ")):
            keep = False
        if keep:
            shown.append(line)
    return "\n".join([patch_output.strip(), "", *shown])


def check_applies(
    patch: Patch, tree: Path, *, tree_name: str | None = None, on_top_of: Sequence[Patch] = ()
) -> None:
    """Refuse a patch that does not apply, naming why: a forward patch the tree already
    carries (it applies in reverse) and a revert of a change the tree lacks (it applies
    forward) get the fix, anything else the failing hunks. ``tree_name`` and
    ``on_top_of`` say, in those messages, which tree and which patches before it."""
    result = _run_patch(patch, tree, "--dry-run")
    if result.returncode == 0:
        return
    where = tree_name or tree.name
    if on_top_of:
        where += " with " + " + ".join(_described(p) for p in on_top_of) + " applied"
    opposite = run_patch(patch.path, tree, *APPLY, *([] if patch.reverse else ["-R"]), "--dry-run")
    if opposite.returncode == 0 and not patch.reverse:
        raise UserError(
            f"patch {patch.name} ({patch.path.name}) is already in {where}: it applies in "
            f"reverse, so the tree carries this change. Measure it by its revert: "
            f"--patch revert:{patch.path} (the tree's code is then the one with the change)"
        )
    if opposite.returncode == 0:
        raise UserError(
            f"revert {patch.name} ({patch.path.name}): {where} does not carry this "
            f"change (it applies forward). Measure it forward: --patch {patch.path}"
        )
    raise UserError(
        f"patch {patch.name} ({patch.path.name}) does not apply "
        f"{'in reverse ' if patch.reverse else ''}to {where}; the tree was not changed",
        excerpt=failing_hunks(patch.path, result.stdout + result.stderr),
    )


def _described(patch: Patch) -> str:
    return f"{'revert:' if patch.reverse else ''}{patch.path.name}"


def check_series(series: Sequence[Patch], tree: Path) -> None:
    """check_applies for each patch on top of the ones before it, without touching the
    tree: the files the series names are copied to a scratch tree and patched there."""
    if len(series) <= 1:
        for patch in series:
            check_applies(patch, tree)
        return
    with tempfile.TemporaryDirectory(prefix="rig-series-check-") as scratch_dir:
        scratch = Path(scratch_dir)
        for name in dict.fromkeys(name for patch in series for name in patch.files):
            relative = Path(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise UserError(f"patch file name {name!r} leaves the tree; expected a path in it")
            if (tree / relative).is_file():
                (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tree / relative, scratch / relative)
        for index, patch in enumerate(series):
            check_applies(patch, scratch, tree_name=tree.name, on_top_of=series[:index])
            result = _run_patch(patch, scratch)
            if result.returncode != 0:
                raise RunFailed(
                    f"patch {patch.name} passed its dry run but failed to apply",
                    excerpt=result.stdout + result.stderr,
                )


@contextmanager
def applied(patch: Patch, tree: Path, marker: Path) -> Iterator[None]:
    """Apply ``patch`` for the duration; the tree is reverted on the way out, whatever happens.

    ``marker`` keeps a copy of the applied patch so that a run killed outright is
    repaired by the next one (see ``repair``), even if the patch file changed since.
    """
    check_applies(patch, tree)
    marker.write_text((_REVERSED_HEADER if patch.reverse else "") + patch.path.read_text())
    result = _run_patch(patch, tree)
    if result.returncode != 0:
        marker.unlink()
        raise RunFailed(f"patch {patch.name} failed to apply", excerpt=result.stdout)
    try:
        yield
    finally:
        _revert(marker, tree)
        marker.unlink(missing_ok=True)


def _revert(marker: Path, tree: Path) -> None:
    """Undo what ``marker`` records: a patch applied forward, or one applied in reverse."""
    undo = [] if marker.read_text(errors="replace").startswith(_REVERSED_HEADER) else ["-R"]
    result = run_patch(marker, tree, *undo)
    if result.returncode != 0:
        raise RunFailed(
            f"could not undo the patch in {marker} on {tree}; the tree needs a manual look",
            excerpt=result.stdout + result.stderr,
        )


@contextmanager
def applied_series(series: list[Patch], tree: Path, marker_dir: Path) -> Iterator[None]:
    """Apply patches in order; on the way out they are reverted in reverse order."""
    with ExitStack() as stack:
        for index, patch in enumerate(series):
            stack.enter_context(applied(patch, tree, marker_dir / f"{MARKER_PREFIX}{index}"))
        yield


def repair(tree: Path, marker_dir: Path) -> None:
    """Revert what a killed run left applied, last patch first."""
    markers = sorted(
        marker_dir.glob(f"{MARKER_PREFIX}*"), key=lambda m: int(m.name[len(MARKER_PREFIX) :])
    )
    for marker in reversed(markers):
        print(f"reverting a patch an interrupted run left applied ({marker})", flush=True)
        _revert(marker, tree)
        marker.unlink()
