"""The nightly matrix file, its cells, the CI job list and the summary table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rig import paths
from rig.cli import main
from rig.errors import UserError
from rig.nightly import matrix

PUBLISHED = paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount"


def test_the_shipped_matrix_is_every_kernel_by_every_profile() -> None:
    shape, cells = matrix.load()
    assert [c.name for c in cells[:3]] == [
        "6.1-mmu500-noncoherent",
        "6.1-smmuv3-noncoherent",
        "6.1-mmu500-coherent",
    ]
    assert len(cells) == 9 and shape.repeat >= 1
    by_name = {c.name: c for c in cells}
    assert by_name["6.1-mmu500-noncoherent"].patches == ("final",)
    assert by_name["7.2-smmuv3-noncoherent"].patches == ("revert:final-7.2",)


def test_the_job_list_is_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["include"]
    _, cells = matrix.load()
    assert [j["cell"] for j in jobs] == [c.name for c in cells]
    assert all(set(j) == {"cell", "kernel", "profile", "patches", "keys"} for j in jobs)
    assert all(j["keys"]["inputs"].startswith(f"measured-{j['cell']}-") for j in jobs)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("kernels: [debian:6.1]\nprofiles: [mmu500-noncoherent]\n", "key 'kernels' must map"),
        ("kernels: {debian:6.1: final}\nprofiles: [mmu500-noncoherent]\n", "debian:6.1"),
        ("kernels: {debian:6.1: [final]}\nprofiles: [no-such]\n", "unknown profile 'no-such'"),
        (
            "kernels: {debian:6.1: [final]}\nprofiles: [mmu500-noncoherent]\nrepeats: 2\n",
            "'repeats'",
        ),
        ("kernels: {debian:6.1: [final]}\nprofiles: [mmu500-noncoherent]\nrepeat: 0\n", "'repeat'"),
    ],
)
def test_each_mistake_names_the_file_and_the_key(tmp_path: Path, text: str, words: str) -> None:
    bad = tmp_path / "nightly.yaml"
    bad.write_text(text)
    with pytest.raises(UserError) as caught:
        matrix.load(bad)
    assert str(bad) in caught.value.message and words in caught.value.message


def test_an_unknown_cell_is_named_with_the_cells_there_are() -> None:
    _, cells = matrix.load()
    with pytest.raises(UserError) as caught:
        matrix.choose(cells, "6.1-nope")
    assert "6.1-mmu500-noncoherent" in caught.value.message


def test_the_summary_names_each_cells_result_run_and_unmap_change() -> None:
    shape, cells = matrix.load()
    results = [
        matrix.CellResult(cells[0], "passed", PUBLISHED, ""),
        matrix.CellResult(cells[1], "error", None, "kernel build failed"),
    ]
    text = matrix.summary(results, shape)
    assert "| 6.1-mmu500-noncoherent | final | passed | " in text
    assert "+45.6% improved" in text  # 1M in the published run
    assert "| 6.1-smmuv3-noncoherent | final | error: kernel build failed |" in text
    assert "1 of 2 cells passed" in text


def test_each_cell_has_its_own_ci_keys_and_cells_of_one_kernel_share_the_kernels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = {}
    for cell in ("6.1-mmu500-noncoherent", "6.1-smmuv3-noncoherent", "7.2-smmuv3-noncoherent"):
        assert main(["matrix", "--cell", cell, "--keys"]) == 0
        found[cell] = json.loads(capsys.readouterr().out)
    assert len({k["qemu"] for k in found.values()}) == 1
    assert found["6.1-mmu500-noncoherent"]["kernel"] == found["6.1-smmuv3-noncoherent"]["kernel"]
    assert found["6.1-mmu500-noncoherent"]["kernel"] != found["7.2-smmuv3-noncoherent"]["kernel"]
    assert len({k["inputs"] for k in found.values()}) == 3


def test_keys_need_a_cell(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--keys"]) == 2
    assert "--cell NAME" in capsys.readouterr().err
