"""The runner on a small workflow of its own: job outputs and needs, a fromJSON matrix,
GITHUB_ENV and the step summary, if: after a failure, the cache and artifact actions,
and a push refused to a job whose token may only read. About a minute; root only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rig import paths
from tests.workflow import nights
from tests.workflow.actions import Store
from tests.workflow.runner import Repository, Runner

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the runner needs root (chroot, mounts)"),
]

WORKFLOW = """
name: small
on: workflow_dispatch
permissions:
  contents: read
env:
  GREETING: hello
jobs:
  first:
    runs-on: ubuntu-24.04
    container: debian:12
    timeout-minutes: 5
    outputs:
      list: ${{ steps.make.outputs.list }}
    steps:
      - id: make
        run: echo 'list={"include":[{"n":"a"},{"n":"b"}]}' >> "$GITHUB_OUTPUT"
  second:
    needs: first
    runs-on: ubuntu-24.04
    container: debian:12
    timeout-minutes: 5
    strategy:
      matrix: ${{ fromJSON(needs.first.outputs.list) }}
    name: leg ${{ matrix.n }}
    steps:
      - run: echo "SEEN=${GREETING}-${{ matrix.n }}" >> "$GITHUB_ENV"
      - run: |
          mkdir -p out/${SEEN} && echo "${SEEN}" > out/${SEEN}/file
          echo "wrote ${SEEN}" >> "$GITHUB_STEP_SUMMARY"
          [ "$PWD" = "$GITHUB_WORKSPACE" ]
      - uses: actions/cache/save@v5
        with:
          path: out
          key: out-${{ matrix.n }}
      - uses: actions/upload-artifact@v6
        with:
          name: out-${{ matrix.n }}
          path: out/
      - id: fails
        run: |
          echo "failing step wrote this" >> "$GITHUB_STEP_SUMMARY"
          exit 3
      - if: always()
        run: echo "after=${{ steps.fails.outcome }}" >> "$GITHUB_STEP_SUMMARY"
      - run: echo never
  third:
    needs: second
    if: always()
    runs-on: ubuntu-24.04
    container: debian:12
    timeout-minutes: 5
    steps:
      - id: back
        uses: actions/cache/restore@v5
        with:
          path: out
          key: out-c
          restore-keys: out-
      - uses: actions/download-artifact@v7
        with:
          pattern: out-*
          merge-multiple: true
          path: merged
      - env:
          MATCHED: ${{ steps.back.outputs.cache-matched-key }}
          HIT: ${{ steps.back.outputs.cache-hit }}
        run: |
          ls merged > "$GITHUB_STEP_SUMMARY"
          echo "restored ${MATCHED} hit=${HIT}" >> "$GITHUB_STEP_SUMMARY"
      - run: git --version || echo "no git in the image"
      - run: touch x
"""


def test_a_small_workflow(tmp_path: Path) -> None:
    work = paths.REPO / "build" / "workflow-test"
    image = nights.image(work)
    remote = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(
        ["git", "-C", str(paths.REPO), "push", "-q", str(remote), "HEAD:refs/heads/main"],
        check=True,
    )
    (tmp_path / "small.yml").write_text(WORKFLOW)
    runner = Runner(
        tmp_path / "small.yml", Repository(remote), image=image, work=tmp_path / "jobs",
        store=Store(tmp_path / "store"), mounts=[], shared_caches={},
    )  # fmt: skip
    night = runner.run("9", event="workflow_dispatch")
    assert night.job("first")[0].result == "success"
    legs = night.job("second")
    assert [leg.name for leg in legs] == ["leg a", "leg b"]
    for leg, n in zip(legs, "ab", strict=True):
        assert leg.result == "failure"
        assert [s.outcome for s in leg.steps][-3:] == ["failure", "success", "skipped"]
        assert f"wrote hello-{n}" in leg.summary and "after=failure" in leg.summary
        assert "failing step wrote this" in leg.summary
    (third,) = night.job("third")
    assert third.result == "success", third.log_text()
    assert third.summary.splitlines()[:2] == ["hello-a", "hello-b"]
    assert "restored out-b hit=false" in third.summary  # the newest prefix match
    assert "no git in the image" in third.log_text()


def test_a_read_only_job_cannot_push(tmp_path: Path) -> None:
    remote = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = Repository(remote)
    repo.guard_pushes()
    refused = subprocess.run(
        ["git", "-C", str(paths.REPO), "push", "-q", str(remote), "HEAD:refs/heads/x"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "RUNNER_EMULATED_CONTENTS": "read"},
    )  # fmt: skip
    assert refused.returncode != 0 and "contents: read" in refused.stderr
    allowed = subprocess.run(
        ["git", "-C", str(paths.REPO), "push", "-q", str(remote), "HEAD:refs/heads/x"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "RUNNER_EMULATED_CONTENTS": "write"},
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
