"""A failed build step is reported with the lines that say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.build import buildlog
from rig.errors import RunFailed


def test_a_missing_tool_is_named_in_the_excerpt(tmp_path: Path) -> None:
    script = "echo compiling; no-such-tool-here --sync; echo '*** [Makefile] Error 127'; exit 2"
    with pytest.raises(RunFailed) as caught:
        buildlog.run(["sh", "-c", script], tmp_path / "b.log", "headers_install", print)
    assert caught.value.message == "headers_install failed (exit code 2)"
    assert "no-such-tool-here: not found" in caught.value.excerpt
    assert "compiling" not in caught.value.excerpt
    assert caught.value.log_path == str(tmp_path / "b.log")
