"""run.json: what produced a run's numbers, so a reader can check every claim in it."""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rig import __version__, identity, paths
from rig.boot import io_pages
from rig.build import kconfig, tools
from rig.errors import RigError
from rig.hashing import sha256_file
from rig.run import records

if TYPE_CHECKING:
    from rig.build.source import KernelSource
    from rig.run.plan import Inputs, RunState


def _boots(state: RunState) -> list[dict[str, Any]]:
    finished = {result.spec.order: result for result in state.boots}
    described = []
    for spec in state.specs:
        result = finished.get(spec.order)
        described.append(
            {
                "order": spec.order,
                "kind": spec.kind,
                "variant": spec.variant,
                "repeat": spec.repeat,
                "expected_release": spec.expected_release,
                "argv": spec.argv,
                "console_log": str(Path(spec.console_log.parent.name) / spec.console_log.name),
                "boot_to_ready_s": round(result.boot_seconds, 3) if result else None,
                # The whole boot, QEMU's start to its end: where a sweep's time goes.
                "wall_s": round(result.wall_seconds, 2)
                if result and result.wall_seconds is not None
                else None,
                "gates": [dataclasses.asdict(g) for g in result.gates] if result else None,
            }
        )
    return described


def portable(value: Any, places: dict[str, str]) -> Any:
    """The same record with this machine's folders written as names, so a run.json
    reads the same on every machine and publishes no local paths."""
    if isinstance(value, str):
        for folder, name in places.items():
            value = value.replace(folder, name)
        return value
    if isinstance(value, dict):
        return {key: portable(item, places) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable(item, places) for item in value]
    return value


def describe(state: RunState, timings: dict[str, float]) -> dict[str, Any]:
    # Longest first: the scratch folder may sit inside the temporary directory, and
    # the results inside the repository.
    places = {
        str(state.inputs.results_root.resolve()): "${RESULTS}",
        str(paths.cache_root()): "${SMMU_RIG_CACHE}",
        str(paths.REPO): "${REPO}",
        tempfile.gettempdir(): "${TMPDIR}",
    }
    ordered = dict(sorted(places.items(), key=lambda item: -len(item[0])))
    return portable(_describe(state, timings), ordered)  # type: ignore[no-any-return]


def _describe(state: RunState, timings: dict[str, float]) -> dict[str, Any]:
    inputs = state.inputs
    source = state.source
    return {
        "schema_version": records.SCHEMA_VERSION,
        "rig_version": __version__,
        # What the nightly history's epochs key the rig by (rig/identity.py).
        "rig_identity": identity.rig_hash(),
        "rig_describe": identity.describe(),
        "run_id": state.run_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv,
        "settings": dataclasses.asdict(inputs.settings),
        "jobs": state.jobs,
        "profile": dataclasses.asdict(inputs.profile),
        "mode": dataclasses.asdict(inputs.mode),
        "kernel": {
            "version": source.kernel_version if source else None,
            "source": source.identity if source else None,
            # The git tree a --ref was taken from (its commits are checked out in the cache).
            "repository": str(source.repository) if source and source.repository else None,
            **_fragment_record(inputs.cache, source, inputs.settings.page_size_bytes),
            # CONFIG_ARM64_*K_PAGES, and the IO page size Linux maps with over this SMMU.
            "page_size": inputs.settings.page_size_bytes,
            "io_granule": io_pages.io_granule(inputs.profile, inputs.settings.page_size_bytes),
            "io_pages": io_pages.describe(inputs.profile, inputs.settings.page_size_bytes),
            "support_patches": [
                {"name": p.name, "sha256": p.sha256} for p in inputs.variants[0].support
            ],
            "toolchain": tools.toolchain_version(),
        },
        "variants": [
            {
                "name": k.variant,
                "release": k.release,
                "patches": _patch_records(inputs, k.variant),
                # What the kernel was built from (two compared refs differ here).
                "source": k.source,
                "patch_sha256": k.patch_sha256,
                "config_sha256": k.config_sha256,
                "cache_key": k.key,
                "cached": k.cached,
                "build_seconds": k.build_seconds,
                "objects_compiled": k.objects_compiled,
            }
            for k in state.kernels
        ],
        "qemu": {
            "binary": inputs.qemu,
            "version": _qemu_version(inputs.qemu),
            # The source, the model's files, the patches (rig-build profiles).
            **(inputs.built_qemu.record() if inputs.built_qemu else {}),
            "dtb_smmu_node": state.dtb.smmu_node if state.dtb else None,
            "dtb_edits": list(state.dtb.edits) if state.dtb else [],
        },
        "boots": _boots(state),
        "phase_seconds": {name: round(value, 2) for name, value in timings.items()},
        "host": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }


def _qemu_version(qemu: str) -> str | None:
    """The emulator's --version, or None when there is none yet (a run that failed while
    building it): run.json is also written on that path and must not hide its error."""
    try:
        return tools.qemu_version(qemu)
    except RigError:
        return None


def _patch_records(inputs: Inputs, variant: str) -> list[dict[str, object]]:
    """The variant's own patches in the order applied, each with its direction (a revert
    is applied in reverse)."""
    chosen = next((v for v in inputs.variants if v.name == variant), None)
    return [p.record() for p in chosen.patches] if chosen else []


def _fragment_record(cache: Path, source: KernelSource | None, page_size: int) -> dict[str, Any]:
    """The config fragment the kernels were built from: its pieces and its hash."""
    if source is None:
        return {"config_fragment_sha256": None, "config_fragment_pieces": None}
    try:
        fragment = kconfig.fragment_for(source.tree, cache, page_size=page_size)
        pieces = [piece.name for piece in kconfig.fragment_pieces(source.tree, page_size=page_size)]
    except RigError:
        return {"config_fragment_sha256": None, "config_fragment_pieces": None}
    return {"config_fragment_sha256": sha256_file(fragment), "config_fragment_pieces": pieces}
