"""kcidb.json: KCIDB's own schema (kcidb-io) accepts it and a consumer reads it back
through kcidb-io's upgrade and id API; a checkout per variant carries the base source's
git identity and the patchset hash KCIDB defines; builds, statuses and durations come
from the run; and the same run always exports to the same document."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kcidb_io
import pytest

from rig import paths
from rig.errors import UserError
from rig.report import exports, kcidb

PUBLISHED = paths.DEFAULT_RESULTS / "20261125-024623-mmu500-noncoherent-icount"
COMMIT = "a" * 40
SCHEMA = kcidb_io.schema.LATEST


def _copy(tmp_path: Path, name: str = PUBLISHED.name) -> Path:
    run = tmp_path / name
    shutil.copytree(PUBLISHED, run)
    return run


def _edit_run_json(run: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    info = json.loads((run / "run.json").read_text())
    edit(info)
    (run / "run.json").write_text(json.dumps(info))


def _exported(run: Path) -> dict[str, Any]:
    exports.write(run)
    document: dict[str, Any] = json.loads((run / "kcidb.json").read_text())
    return document


def _by_variant(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["id"].rsplit(":", 1)[1]: o for o in objects}


def _patch_hash(*files: Path) -> str:
    """KCIDB's recipe: `sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64`."""
    lines = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}\n" for f in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def test_a_consumer_validates_upgrades_and_links_the_document(tmp_path: Path) -> None:
    document = _exported(_copy(tmp_path))
    SCHEMA.validate(document)
    assert SCHEMA.is_compatible_exactly(document)
    read = SCHEMA.upgrade(document)  # what kcidb's tools do with what they load
    assert read == document
    assert SCHEMA.count(read) == 2 + 2 + 2 * 2 * 8  # checkouts, builds, tests
    ids = SCHEMA.get_ids(read)
    assert all(len(set(found)) == len(found) for found in ids.values())
    assert {b["checkout_id"] for b in read["builds"]} == set(ids["checkouts"])
    assert {t["build_id"] for t in read["tests"]} == set(ids["builds"])


def test_a_checkout_per_variant_carries_the_patchset_it_applied(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    final_patch = paths.KERNEL_PATCHES / "final.patch"
    support = paths.KERNEL_PATCHES / "support" / "dma-probe.patch"

    def recorded_as_on_disk(info: dict[str, Any]) -> None:
        info["kernel"]["support_patches"][0]["sha256"] = hashlib.sha256(
            support.read_bytes()
        ).hexdigest()
        info["variants"][1]["patches"][0]["sha256"] = hashlib.sha256(
            final_patch.read_bytes()
        ).hexdigest()

    _edit_run_json(run, recorded_as_on_disk)
    checkouts = _by_variant(_exported(run)["checkouts"])
    assert list(checkouts) == ["baseline", "final"]
    # Every variant carries the profile's support patch; final adds its own after it.
    assert checkouts["baseline"]["patchset_hash"] == _patch_hash(support)
    assert checkouts["final"]["patchset_hash"] == _patch_hash(support, final_patch)
    for checkout in checkouts.values():
        assert checkout["tree_name"] == "debian" and checkout["valid"] is True
        assert "git_commit_hash" not in checkout and "git_repository_url" not in checkout
        assert checkout["misc"]["source"]["package_version"] == "6.1.192-2"
        assert "patchset_files" not in checkout  # no download location given

    url = "https://example.org/smmu-rig/kernel-patches/"
    linked = kcidb.document(run, patch_url=url)
    SCHEMA.validate(linked)
    assert _by_variant(linked["checkouts"])["final"]["patchset_files"] == [
        {"name": "dma-probe.patch", "url": f"{url}support/dma-probe.patch"},
        {"name": "final.patch", "url": f"{url}final.patch"},
    ]


def test_patch_links_come_from_the_environment_and_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _copy(tmp_path)
    monkeypatch.setenv(kcidb.PATCH_URL_ENV, "https://example.org/p")
    assert kcidb.patch_url_of(None) == "https://example.org/p"
    monkeypatch.setenv(kcidb.PATCH_URL_ENV, "kernel-patches/")
    with pytest.raises(UserError, match="absolute URL"):
        kcidb.document(run)


def test_a_patch_changed_since_the_run_is_not_linked(tmp_path: Path) -> None:
    """A link must serve the patch that was applied: a recorded hash that no longer
    matches the file in kernel-patches/ leaves the links out (the hash stays)."""
    run = _copy(tmp_path)
    _edit_run_json(run, lambda info: info["variants"][1]["patches"][0].update(sha256="0" * 64))
    final = _by_variant(kcidb.document(run, patch_url="https://example.org/p")["checkouts"])
    assert "patchset_files" not in final["final"] and final["final"]["patchset_hash"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (  # git:URL@BRANCH
            {
                "kind": "git",
                "url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
                "branch": "linux-6.1.y",
                "commit": COMMIT,
            },
            {
                "tree_name": "stable",
                "git_repository_url": "https://git.kernel.org/pub/scm/linux/kernel/git/"
                "stable/linux.git",
                "git_repository_branch": "linux-6.1.y",
                "git_commit_hash": COMMIT,
            },
        ),
        (  # a mirror of mainline, named by its tree
            {"kind": "git", "url": "https://github.com/torvalds/linux", "branch": "master"}
            | {"commit": COMMIT},
            {
                "tree_name": "mainline",
                "git_repository_url": "https://github.com/torvalds/linux",
                "git_repository_branch": "master",
                "git_commit_hash": COMMIT,
            },
        ),
        (  # a repository KCIDB cannot link (not https): the commit and branch still count
            {"kind": "git", "url": "file:///srv/linux.git", "branch": "main", "commit": COMMIT},
            {"git_commit_hash": COMMIT, "git_repository_branch": "main"},
        ),
        (  # --kernel-src of a clean git tree, or --ref: no repository to publish
            {"kind": "git", "path": "/home/me/linux", "ref": "v6.1", "commit": COMMIT}
            | {"local_changes_sha256": hashlib.sha256(b"").hexdigest()},
            {"git_commit_hash": COMMIT},
        ),
        (  # --kernel-src of a tree without git
            {"kind": "tree", "path": "/home/me/linux", "files_fingerprint": "f" * 64},
            {},
        ),
    ],
)
def test_the_base_is_the_source_identity_where_kcidb_can_name_it(
    tmp_path: Path, source: dict[str, Any], expected: dict[str, Any]
) -> None:
    run = _copy(tmp_path)
    _edit_run_json(run, lambda info: info["kernel"].update(source=source))
    document = _exported(run)
    SCHEMA.validate(document)
    git_fields = {"tree_name", "git_repository_url", "git_repository_branch", "git_commit_hash"}
    for checkout in document["checkouts"]:
        assert {k: v for k, v in checkout.items() if k in git_fields} == expected
        assert checkout["misc"]["source"] == source
        assert "/home/me" not in json.dumps({k: v for k, v in checkout.items() if k != "misc"})


def test_local_changes_and_reverts_are_part_of_the_patchset(tmp_path: Path) -> None:
    """A user's tree with uncommitted changes is its commit plus `git diff HEAD`; a
    revert applies no patch file forward, so it has no KCIDB patchset hash."""
    run = _copy(tmp_path)
    diff = "c" * 64
    source = {"kind": "git", "path": "/t", "commit": COMMIT, "local_changes_sha256": diff}

    def edit(info: dict[str, Any]) -> None:
        info["kernel"]["source"] = source
        info["variants"][1]["patches"][0]["reverse"] = True

    _edit_run_json(run, edit)
    checkouts = _by_variant(_exported(run)["checkouts"])
    support = json.loads((run / "run.json").read_text())["kernel"]["support_patches"][0]
    lines = f"{diff}\n{support['sha256']}\n"
    assert checkouts["baseline"]["patchset_hash"] == hashlib.sha256(lines.encode()).hexdigest()
    assert "patchset_hash" not in checkouts["final"]
    assert checkouts["final"]["misc"]["patchset"][-1]["reverse"] is True


def test_builds_say_what_was_built_how_and_how_long_it_took(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    builds = _by_variant(_exported(run)["builds"])
    final = builds["final"]
    assert final["status"] == "PASS" and final["duration"] == 5.6
    assert final["checkout_id"].endswith(":final")
    # What kbuild really runs: allnoconfig with the fragment's pieces, not defconfig.
    assert final["config_name"] == "allnoconfig+smmu-rig.config+lpae-selftest.config"
    assert final["misc"]["patches"] == ["final.patch"] and final["misc"]["cached"] is True

    def unbuilt(info: dict[str, Any]) -> None:
        info["variants"][1].update(release=None, build_seconds=None)
        info["kernel"].pop("config_fragment_pieces")

    _edit_run_json(run, unbuilt)
    document = _exported(run)
    SCHEMA.validate(document)
    final = _by_variant(document["builds"])["final"]
    assert final["status"] == "FAIL" and "duration" not in final
    assert final["config_name"] == "allnoconfig+smmu-rig.config"
    assert "valid" not in _by_variant(document["checkouts"])["final"]


def test_tests_carry_the_benchmark_duration_and_fail_a_regressed_size(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    csv = run / "results.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    slow = []
    for line in lines[1:]:
        cells = dict(zip(header, line.split(","), strict=True))
        if cells["variant"] == "final" and cells["size_bytes"] == str(1024 * 1024):
            cells["unmap_us"] = "2000.0"  # far slower than baseline's ~676 us
        slow.append(",".join(cells[h] for h in header))
    csv.write_text("\n".join([lines[0], *slow]) + "\n")

    document = _exported(run)
    SCHEMA.validate(document)
    tests = {t["path"]: t for t in document["tests"] if t["build_id"].endswith(":final")}
    regressed = tests["dma_map_benchmark.unmap.1M"]
    assert regressed["misc"]["verdict"] == "regressed" and regressed["status"] == "FAIL"
    assert {t["status"] for p, t in tests.items() if p != regressed["path"]} == {"PASS"}
    # 1 s of dma_map_benchmark per boot and size, 3 boots.
    assert {t["duration"] for t in document["tests"]} == {3.0}
    assert regressed["start_time"] == "2026-11-25T02:47:03+00:00"  # the run's, not now


def test_the_same_run_exports_to_the_same_bytes(tmp_path: Path) -> None:
    first = _copy(tmp_path / "one")
    second = _copy(tmp_path / "two")
    exports.write(first)
    exports.write(second)
    exports.write(first)
    assert (first / "kcidb.json").read_bytes() == (second / "kcidb.json").read_bytes()
    document = json.loads((first / "kcidb.json").read_text())
    run_id = PUBLISHED.name
    assert all(
        o["id"].startswith(f"smmu_rig:{run_id}:")
        for kind in ("checkouts", "builds", "tests")
        for o in document[kind]
    )
    keys = [tuple(t["id"].split(":")[2:]) for t in document["tests"]]  # variant, metric, size
    assert keys == sorted(keys, key=lambda k: (k[0], k[1], int(k[2])))
