"""What a variant's patches are: kernel-patches/ names, paths, directions and labels.

A variant is written `[LABEL=]PART[+PART...]`, each PART `[revert:]NAME-OR-PATH`: one
patch, or a series applied in order (each on top of the ones before it). Applying them
to a tree is patch_apply's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rig import paths
from rig.errors import UserError
from rig.hashing import sha256_file, sha256_json

BASELINE = "baseline"
# Variant name of an A/A run's second build of the unpatched tree (--patch none).
AA_CONTROL = "aa-control"
SUPPORT_DIR = paths.KERNEL_PATCHES / "support"
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RESERVED_LABELS = (BASELINE, AA_CONTROL, "none")
# A label ends up in `uname -r` (`<version>-rig-<label>-<key>`), which holds 64 characters.
LABEL_MAX = 40
DERIVED_LABEL_MAX = 32
_FORMAT_PATCH_NUMBER = re.compile(r"^\d{4}-")
_PATCH_SUFFIXES = (".patch", ".diff")
REVERT_PREFIX = "revert:"
SERIES_SEPARATOR = "+"
_DIFF_FILE = re.compile(r"^(?:---|\+\+\+) [ab]/(\S+)")


@dataclass(frozen=True)
class Patch:
    # Its own label: the variant's, when the variant is this one patch.
    name: str
    path: Path
    sha256: str
    # Applied in reverse (`revert:FILE`): the tree without this change, as when the
    # tree already carries a merged patch.
    reverse: bool = False

    @property
    def direction(self) -> tuple[str, ...]:
        """GNU patch's options for applying it: nothing, or -R for a revert."""
        return ("-R",) if self.reverse else ()

    @property
    def files(self) -> list[str]:
        """The files it changes (new ones and removed ones too), in the order named."""
        found: list[str] = []
        for line in self.path.read_text(errors="replace").splitlines():
            match = _DIFF_FILE.match(line)
            if match and match.group(1) not in found:
                found.append(match.group(1))
        return found

    def record(self) -> dict[str, object]:
        """How run.json names it."""
        return {"file": self.path.name, "sha256": self.sha256, "reverse": self.reverse}


@dataclass(frozen=True)
class Series:
    """A variant's own patches, in the order they are applied."""

    label: str
    patches: tuple[Patch, ...]
    # Derived from file names (not chosen by the user): a run may suffix it to keep
    # labels unique.
    derived_label: bool = False


def series_sha256(series: tuple[Patch, ...]) -> str | None:
    """One hash for a variant's patches: the file's own for one patch (so a run's
    `patch_sha256` is `sha256sum` of it), a hash of the ordered list for a series."""
    if not series:
        return None
    if len(series) == 1:
        return series[0].sha256
    return sha256_json([[p.sha256, p.reverse] for p in series])


def available(patch_dir: Path = paths.KERNEL_PATCHES) -> list[str]:
    return sorted(p.stem for p in patch_dir.glob("*.patch"))


def _shorten(label: str) -> str:
    """Cut a derived label to DERIVED_LABEL_MAX at a word boundary."""
    if len(label) <= DERIVED_LABEL_MAX:
        return label
    cut = label[: DERIVED_LABEL_MAX + 1]
    boundary = cut.rfind("-")
    return (cut[:boundary] if boundary > 0 else cut[:DERIVED_LABEL_MAX]).strip("-")


def _unreserved(label: str) -> str:
    if not label:
        return "patch"
    return f"{label}-patch" if label in RESERVED_LABELS else label


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
    return _unreserved(_shorten(re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")))


def check_label(label: str, spec: str) -> str:
    if label in RESERVED_LABELS or not _LABEL_RE.match(label) or len(label) > LABEL_MAX:
        raise UserError(
            f"patch {spec!r}: label {label!r} cannot name a variant; expected lower-case "
            f"letters, digits and '-', at most {LABEL_MAX} characters, and not "
            + ", ".join(repr(name) for name in RESERVED_LABELS)
        )
    return label


def _find(target: str, patch_dir: Path) -> Path | None:
    shipped = patch_dir / f"{target}.patch"
    if "/" not in target and shipped.is_file():
        return shipped
    candidate = Path(target).expanduser()
    return candidate.resolve() if candidate.is_file() else None


def _unknown(part: str, spec: str, patch_dir: Path) -> UserError:
    known = ", ".join(available(patch_dir))
    where = f"{part!r} in {spec!r}" if part != spec else repr(spec)
    return UserError(
        f"unknown patch {where}; expected one of: {known}; 'none' (an A/A run: the "
        "baseline against a second build of itself); a path to a patch file; "
        "revert:NAME-OR-PATH to apply one in reverse; A+B for a series applied in order; "
        "or LABEL=... to name the variant yourself"
    )


def _load_part(part: str, spec: str, patch_dir: Path) -> tuple[Patch, bool]:
    """One `[revert:]NAME-OR-PATH`, and whether it is a shipped patch (named, not found)."""
    reverse = part.startswith(REVERT_PREFIX)
    target = part.removeprefix(REVERT_PREFIX)
    path = _find(target, patch_dir)
    if path is None:
        raise _unknown(part, spec, patch_dir)
    label = label_from_file_name(path.name)
    if reverse and "revert" not in label:
        label = f"revert-{label}"
    patch = Patch(label, path, sha256_file(path), reverse=reverse)
    if not patch.files:
        raise UserError(
            f"patch {path}: names no file (no '--- a/FILE' or '+++ b/FILE' line); "
            "expected a unified diff for patch -p1"
        )
    return patch, path.parent.resolve() == patch_dir.resolve()


def _parts(rest: str, spec: str, patch_dir: Path) -> list[str]:
    """The series' parts: split at '+', unless the whole is one file whose name has '+'."""
    whole = rest.removeprefix(REVERT_PREFIX)
    if SERIES_SEPARATOR not in rest or _find(whole, patch_dir) is not None:
        return [rest]
    parts = [part.strip() for part in rest.split(SERIES_SEPARATOR)]
    if not all(parts):
        raise UserError(
            f"patch {spec!r}: an empty part in the series; expected A+B (each a patch "
            "name or path, optionally revert:), no leading, trailing or doubled '+'"
        )
    return parts


def load_series(spec: str, patch_dir: Path = paths.KERNEL_PATCHES) -> Series:
    """A variant as `[LABEL=]PART[+PART...]` (see the module's description).

    NAME is kernel-patches/NAME.patch; it and a path are labelled from the file name
    (see label_from_file_name: `final` stays `final`, `final-6.12` becomes `final-6-12`),
    a revert says `revert-`, and a series joins its parts' labels; LABEL= names the
    variant outright.
    """
    label, sep, rest = spec.partition("=")
    if not sep or any(mark in label for mark in "/:+"):
        label, rest = "", spec
    loaded = [_load_part(part, spec, patch_dir) for part in _parts(rest, spec, patch_dir)]
    series = tuple(patch for patch, _ in loaded)
    if label:
        check_label(label, spec)
        if len(series) == 1:
            series = (Patch(label, series[0].path, series[0].sha256, series[0].reverse),)
        return Series(label, series)
    if len(series) == 1:
        # A shipped patch's name is a label the user chose by naming it.
        return Series(series[0].name, series, derived_label=not loaded[0][1])
    joined = _unreserved(_shorten("-".join(patch.name for patch in series)))
    return Series(joined, series, derived_label=True)


def load(spec: str, patch_dir: Path = paths.KERNEL_PATCHES) -> Patch:
    """One patch, `[LABEL=][revert:]NAME-OR-PATH`, as load_series reads it."""
    series = load_series(spec, patch_dir)
    if len(series.patches) != 1:
        raise UserError(f"patch {spec!r}: expected one patch, not a series")
    return series.patches[0]


def load_support(name: str) -> Patch:
    """A support patch a profile needs (kernel-patches/support/NAME.patch)."""
    path = SUPPORT_DIR / f"{name}.patch"
    if not path.is_file():
        known = ", ".join(available(SUPPORT_DIR)) or "(none)"
        raise UserError(f"unknown support patch {name!r}; known: {known}")
    return load(f"{name}={path}")
