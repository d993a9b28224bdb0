"""What a run folder offers other tools: junit.xml for CI pages and kcidb.json for
KernelCI's database, both derived from the run's own files and rewritten with its
report."""

from __future__ import annotations

import json
from pathlib import Path

from rig.report import junit, kcidb

OUTPUTS = ("junit.xml", "kcidb.json")


def write(run_dir: Path) -> list[Path]:
    """Both files; none for a folder without run.json (a report rebuilt from a CSV
    alone), since they name the run, its kernel and its builds."""
    if not (run_dir / "run.json").is_file():
        return []
    junit.write(run_dir, run_dir / "junit.xml")
    (run_dir / "kcidb.json").write_text(json.dumps(kcidb.document(run_dir), indent=1) + "\n")
    return [run_dir / name for name in OUTPUTS]
