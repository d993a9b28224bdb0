"""run.json on the failure path: written whatever is missing, hiding no error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rig import paths
from rig.run import plan, provenance, settings


def test_a_run_that_failed_before_its_qemu_existed_still_describes_itself(
    tmp_path: Path,
) -> None:
    """A QEMU build that failed (or was interrupted) leaves no emulator to ask for its
    version: run.json says so instead of raising over the build's own error."""
    chosen = settings.load(paths.DEFAULT_BENCH_CONFIG)
    inputs = plan.resolve_inputs(chosen, None, tmp_path, tmp_path / "cache")
    inputs = dataclasses.replace(inputs, qemu=str(tmp_path / "never-built" / "qemu"))
    state = plan.RunState(inputs=inputs, run_id="20261125-000000-test")
    described = provenance.describe(state, {"total": 1.0})
    assert described["qemu"]["version"] is None
    assert described["variants"] == [] and described["boots"] == []
