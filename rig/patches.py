"""Kernel patches from kernel-patches/: find, check, apply and revert them."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from rig import paths
from rig.errors import RunFailed, UserError
from rig.hashing import sha256_file

BASELINE = "baseline"
# Variant name of an A/A run's second build of the unpatched tree (--patch none).
AA_CONTROL = "aa-control"
SUPPORT_DIR = paths.KERNEL_PATCHES / "support"
MARKER_PREFIX = ".rig-applied-patch-"
_HUNK_FAILED = re.compile(r"Hunk #(\d+) FAILED at (\d+)")
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RESERVED_LABELS = (BASELINE, AA_CONTROL, "none")
# A label ends up in `uname -r` (`<version>-rig-<label>-<key>`), which holds 64 characters.
LABEL_MAX = 40
DERIVED_LABEL_MAX = 32
_FORMAT_PATCH_NUMBER = re.compile(r"^\d{4}-")
_PATCH_SUFFIXES = (".patch", ".diff")
REVERT_PREFIX = "revert:"
# First line of the copy kept while a patch is applied in reverse; GNU patch skips it
# as leading text when the copy is used to undo the revert.
_REVERSED_HEADER = "smmu-rig: applied in reverse (undo by applying forward)\n"


@dataclass(frozen=True)
class Patch:
    # The variant's label: in tables, reports, LOCALVERSION and `uname -r`.
    name: str
    path: Path
    sha256: str
    # Derived from the file name (not chosen by the user): a run may suffix it to keep
    # labels unique.
    derived_label: bool = False
    # Applied in reverse (`revert:FILE`): the variant is the tree without this change,
    # as when the tree already carries a merged patch.
    reverse: bool = False

    @property
    def direction(self) -> tuple[str, ...]:
        """GNU patch's options for applying it: nothing, or -R for a revert."""
        return ("-R",) if self.reverse else ()

    @property
    def files(self) -> list[str]:
        return [
            line[6:].split("\t")[0].strip()
            for line in self.path.read_text(errors="replace").splitlines()
            if line.startswith("+++ b/")
        ]


def available(patch_dir: Path = paths.KERNEL_PATCHES) -> list[str]:
    return sorted(p.stem for p in patch_dir.glob("*.patch"))


def label_from_file_name(file_name: str) -> str:
    """A variant label from any patch file name, as users and `git format-patch` name them.

    `0001-iommu-io-pgtable-arm-Optimise-non-coherent-unmap.patch` gives
    `iommu-io-pgtable-arm-optimise`, `v6.12-revert.patch` gives `v6-12-revert`: the
    series number and suffix go, the rest is lower-cased, anything but letters and
    digits becomes '-', and a long name is cut at a word boundary.
    """
    stem = file_name
    for suffix in _PATCH_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = _FORMAT_PATCH_NUMBER.sub("", stem)
    label = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    if len(label) > DERIVED_LABEL_MAX:
        cut = label[: DERIVED_LABEL_MAX + 1]
        boundary = cut.rfind("-")
        label = (cut[:boundary] if boundary > 0 else cut[:DERIVED_LABEL_MAX]).strip("-")
    if not label:
        label = "patch"
    if label in RESERVED_LABELS:
        label = f"{label}-patch"
    return label


def check_label(label: str, spec: str) -> str:
    if label in RESERVED_LABELS or not _LABEL_RE.match(label) or len(label) > LABEL_MAX:
        raise UserError(
            f"patch {spec!r}: label {label!r} cannot name a variant; expected lower-case "
            f"letters, digits and '-', at most {LABEL_MAX} characters, and not "
            + ", ".join(repr(name) for name in RESERVED_LABELS)
        )
    return label


def _find(target: str, spec: str, patch_dir: Path) -> Path:
    shipped = patch_dir / f"{target}.patch"
    if "/" not in target and shipped.is_file():
        return shipped
    candidate = Path(target).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    known = ", ".join(available(patch_dir))
    raise UserError(
        f"unknown patch {spec!r}; expected one of: {known}; 'none' (an A/A run: the "
        "baseline against a second build of itself); a path to a patch file; or "
        "LABEL=PATH to name its variant yourself"
    )


def load(spec: str, patch_dir: Path = paths.KERNEL_PATCHES) -> Patch:
    """A patch as `[LABEL=][revert:]NAME-OR-PATH`.

    NAME is kernel-patches/NAME.patch; it and a path are labelled from the file name
    (see label_from_file_name: `final` stays `final`, `final-6.12` becomes `final-6-12`);
    LABEL= names the variant outright. `revert:`
    applies the patch in reverse, and a label that is not given says `revert-`.
    """
    label, sep, rest = spec.partition("=")
    if not sep or "/" in label:
        label, rest = "", spec
    reverse = rest.startswith(REVERT_PREFIX)
    target = rest.removeprefix(REVERT_PREFIX)
    path = _find(target, spec, patch_dir)
    derived = not label
    label = check_label(label, spec) if label else label_from_file_name(path.name)
    if reverse and derived and "revert" not in label:
        label = f"revert-{label}"
    # A shipped patch's name is a label the user chose by naming it.
    derived = derived and path.parent.resolve() != patch_dir.resolve()
    patch = Patch(label, path, sha256_file(path), derived_label=derived, reverse=reverse)
    if not patch.files:
        raise UserError(f"patch {path}: no '+++ b/FILE' lines; expected a unified diff (-p1)")
    return patch


def load_support(name: str) -> Patch:
    """A support patch a profile needs (kernel-patches/support/NAME.patch)."""
    path = SUPPORT_DIR / f"{name}.patch"
    if not path.is_file():
        known = ", ".join(available(SUPPORT_DIR)) or "(none)"
        raise UserError(f"unknown support patch {name!r}; known: {known}")
    return load(f"{name}={path}")


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


def failing_hunks(patch: Patch, patch_output: str) -> str:
    """The text of each hunk `patch` reported as FAILED, with patch's own words first."""
    wanted = {int(number) for number, _ in _HUNK_FAILED.findall(patch_output)}
    lines = patch.path.read_text(errors="replace").splitlines()
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


def check_applies(patch: Patch, tree: Path) -> None:
    """Refuse a patch that does not apply, naming why: a forward patch the tree already
    carries (it applies in reverse) and a revert of a change the tree lacks (it applies
    forward) get the fix, anything else the failing hunks."""
    result = _run_patch(patch, tree, "--dry-run")
    if result.returncode == 0:
        return
    opposite = run_patch(patch.path, tree, *APPLY, *([] if patch.reverse else ["-R"]), "--dry-run")
    if opposite.returncode == 0 and not patch.reverse:
        raise UserError(
            f"patch {patch.name} ({patch.path.name}) is already in {tree.name}: it applies in "
            f"reverse, so the tree carries this change. Measure it by its revert: "
            f"--patch revert:{patch.path} (the tree's code is then the one with the change)"
        )
    if opposite.returncode == 0:
        raise UserError(
            f"revert {patch.name} ({patch.path.name}): {tree.name} does not carry this "
            f"change (it applies forward). Measure it forward: --patch {patch.path}"
        )
    raise UserError(
        f"patch {patch.name} ({patch.path.name}) does not apply "
        f"{'in reverse ' if patch.reverse else ''}to {tree.name}; the tree was not changed",
        excerpt=failing_hunks(patch, result.stdout + result.stderr),
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
