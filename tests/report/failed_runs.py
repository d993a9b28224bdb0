"""A published run turned into one whose `final` variant FAILED a correctness check, for
the export tests (both exports must carry the failure)."""

from __future__ import annotations

import json
from pathlib import Path


def fail_a_check(run: Path) -> None:
    """``run``'s correctness.json: `final` FAILED by its second check, a console Oops."""
    checks = json.loads((run / "correctness.json").read_text())
    checks["final"]["verdict"] = "FAILED"
    checks["final"]["checks"][1] = {
        "name": "console: Oops",
        "passed": False,
        "detail": "boot final-r1: Unable to handle kernel paging request",
        "log": None,
    }
    (run / "correctness.json").write_text(json.dumps(checks))
