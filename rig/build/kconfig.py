"""The kernel configuration: allnoconfig plus the repo's fragment, verified after olddefconfig."""

from __future__ import annotations

import re
from pathlib import Path

from rig import paths
from rig.errors import RunFailed, UserError
from rig.hashing import sha256_text
from rig.sizes import PAGE_SIZE, format_size

# The LPAE page-table test, in whichever form the tree's Kconfig offers, first match wins.
LPAE_TESTS = (
    ("IOMMU_IO_PGTABLE_LPAE_SELFTEST", "lpae-selftest.config"),
    ("IOMMU_IO_PGTABLE_LPAE_KUNIT_TEST", "lpae-kunit.config"),
)

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def parse_config(text: str) -> dict[str, str]:
    """Option -> value ('n' for '# CONFIG_X is not set')."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if match := _SET.match(line):
            values[match.group(1)] = match.group(2)
        elif match := _UNSET.match(line):
            values[match.group(1)] = "n"
    return values


def read_fragment(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{path}: cannot read the config fragment ({err.strerror})") from err
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and not _SET.match(line):
            raise UserError(f"{path}:{number}: {line!r} is not a CONFIG_NAME=value line")
    return parse_config(text)


def missing_options(wanted: dict[str, str], config_text: str) -> list[str]:
    """Options of the fragment that olddefconfig dropped or changed, as 'NAME=want (got)'."""
    have = parse_config(config_text)
    problems = []
    for name, value in wanted.items():
        got = have.get(name, "n")
        if got != value:
            problems.append(f"{name}={value} (got {got})")
    return problems


def verify(fragment: Path, config: Path) -> None:
    problems = missing_options(read_fragment(fragment), config.read_text())
    if problems:
        raise RunFailed(
            f"the kernel config lost {len(problems)} option(s) of {fragment.name} after "
            "olddefconfig (a dependency is missing or the option does not exist in this tree)",
            excerpt="\n".join(problems),
            log_path=str(config),
            check="kernel config",
        )


def lpae_test_piece(tree: Path, config_dir: Path = paths.KERNEL_CONFIGS) -> Path:
    """The fragment piece that turns on the tree's LPAE page-table test."""
    kconfig = tree / "drivers" / "iommu" / "Kconfig"
    text = kconfig.read_text() if kconfig.is_file() else ""
    for option, piece in LPAE_TESTS:
        if re.search(rf"^config {option}$", text, re.MULTILINE):
            return config_dir / piece
    raise UserError(
        f"{tree}: its drivers/iommu/Kconfig offers no LPAE page-table test (looked for "
        + ", ".join(option for option, _ in LPAE_TESTS)
        + "); the rig requires one to pass at every boot"
    )


def page_size_piece(page_size: int, config_dir: Path = paths.KERNEL_CONFIGS) -> Path | None:
    """The piece that selects a page size other than allnoconfig's 4K (none for 4K, so a
    4K kernel's fragment, and its cache key, are what they always were)."""
    if page_size == PAGE_SIZE:
        return None
    return config_dir / f"page-{format_size(page_size).lower()}.config"


def fragment_pieces(
    tree: Path,
    base: Path = paths.CONFIG_FRAGMENT,
    config_dir: Path = paths.KERNEL_CONFIGS,
    *,
    page_size: int = PAGE_SIZE,
) -> list[Path]:
    page = page_size_piece(page_size, config_dir)
    return [base, lpae_test_piece(tree, config_dir), *([page] if page else [])]


def fragment_for(
    tree: Path,
    cache: Path,
    base: Path = paths.CONFIG_FRAGMENT,
    config_dir: Path = paths.KERNEL_CONFIGS,
    *,
    page_size: int = PAGE_SIZE,
) -> Path:
    """The fragment for this tree: the rig's base fragment plus its LPAE test piece (and
    its page-size piece), written once into the cache under its content's hash (so it
    keys kernels by content)."""
    pieces = fragment_pieces(tree, base, config_dir, page_size=page_size)
    text = "".join(f"# --- {piece.name}\n{piece.read_text()}" for piece in pieces)
    for piece in pieces:
        read_fragment(piece)  # each is checked, with its own name in any message
    path = cache / "fragments" / f"smmu-rig-{sha256_text(text)[:16]}.config"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(text)
        partial.replace(path)
    return path
