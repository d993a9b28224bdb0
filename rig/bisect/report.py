"""A bisection's folder: bisect.json (everything), steps.csv (a row per commit tried) and
summary.md (the answer first: the first bad commit, the two measurements around it and
the command that reproduces the pair), each rewritten after every step."""

from __future__ import annotations

import csv
import io
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.bisect.commit_range import CommitRange
from rig.bisect.step import Request, StepRecord
from rig.run import records
from rig.sizes import format_size

STEP_COLUMNS = (
    "number",
    "role",
    "commit",
    "subject",
    "mark",
    "why",
    "median_us",
    "values_us",
    "failed_check",
    "build_seconds",
    "kernel_cached",
    "objects_compiled",
    "boot_seconds",
    "seconds",
    "run_dir",
)


@dataclass
class Book:
    folder: Path
    request: Request
    commits: CommitRange
    threshold_pct: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    ends: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def add(self, record: StepRecord, role: str, mark: str | None, why: str) -> None:
        measured = record.measured
        self.steps.append(
            {
                "number": len(self.steps),
                "role": role,
                "commit": record.commit,
                "subject": self.commits.subject(record.commit),
                "mark": mark or role.split(maxsplit=1)[0],
                "why": why
                or measured.unusable
                or _measurement(
                    measured.median if measured.values else None, measured.failed_check
                ),
                "median_us": round(measured.median, 3) if measured.values else None,
                "values_us": list(measured.values),
                "failed_check": measured.failed_check,
                "build_seconds": record.build_seconds,
                "kernel_cached": record.kernel_cached,
                "objects_compiled": record.objects_compiled,
                "boot_seconds": record.boot_seconds,
                "seconds": record.seconds,
                "run_dir": record.run_dir,
                "error": record.error,
            }
        )

    def finish(self, *, culprits: tuple[str, ...] = (), refused: str | None = None) -> None:
        if refused is not None:
            self.result = {"status": "refused", "reason": refused}
        elif len(culprits) == 1:
            self.result = {"status": "found", "first_bad": culprits[0], **self._pair(culprits[0])}
        else:
            self.result = {
                "status": "ambiguous",
                "candidates": list(culprits),
                **self._pair(culprits[-1], culprits[0]),
            }
        self.write()

    def _pair(self, first_bad: str, after: str | None = None) -> dict[str, Any]:
        """The commit before the first bad one (or before the first candidate) and the
        command that measures the two side by side."""
        commits = self.commits.commits
        index = commits.index(after or first_bad)
        last_good = commits[index - 1] if index else self.commits.good
        settings = self.request.settings
        command = [
            "python", "-m", "rig", "bench",
            "--kernel-src", str(self.commits.repo),
            "--ref", last_good, "--ref", first_bad,
            "--profile", settings.profile, "--mode", settings.mode,
            "--sizes", format_size(self.request.size_bytes),
        ]  # fmt: skip
        return {"last_good": last_good, "reproduce": shlex.join(command)}

    def write(self) -> None:
        settings = self.request.settings
        document = {
            "kind": "bisect",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "repo": str(self.commits.repo),
            "good": self.commits.good,
            "bad": self.commits.bad,
            "commits_in_range": len(self.commits.commits),
            "looking_for": "first failing commit"
            if self.request.correctness
            else f"first slower commit ({self.request.metric}, "
            f"{format_size(self.request.size_bytes)})",
            "metric": self.request.metric,
            "size_bytes": self.request.size_bytes,
            "correctness": self.request.correctness,
            "profile": settings.profile,
            "mode": settings.mode,
            "threshold_pct": self.threshold_pct,
            "ends": self.ends,
            "steps": self.steps,
            "result": self.result,
        }
        records.write_json(document, self.folder / "bisect.json")
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=STEP_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for step in self.steps:
            writer.writerow({**step, "values_us": " ".join(f"{v:g}" for v in step["values_us"])})
        records.write_text(table.getvalue(), self.folder / "steps.csv")
        lines = summary_lines(document, self.commits)
        records.write_text("\n".join(lines) + "\n", self.folder / "summary.md")


def answer(document: dict[str, Any], commits: CommitRange) -> list[str]:
    """What the bisection found, in the words the command prints at its end."""
    result = document["result"]
    status = result.get("status")
    if status == "found":
        first = result["first_bad"]
        lines = [f"first bad commit: {first} ({commits.subject(first)})"]
    elif status == "ambiguous":
        lines = ["only skipped commits are left; the first bad commit is one of:"]
        lines += [f"  {c} ({commits.subject(c)})" for c in result["candidates"]]
    elif status == "refused":
        return [f"refused: {result['reason']}"]
    else:
        return ["in progress"]
    by_commit = {s["commit"]: s for s in document["steps"]}
    last_good, first_bad = result["last_good"], result.get("first_bad") or result["candidates"][-1]
    for word, commit in (("last good", last_good), ("first bad", first_bad)):
        step = by_commit.get(commit)
        if step is not None:
            said = _measurement(step["median_us"], step["failed_check"]) or step["why"]
            lines.append(f"{word}: {commit[:12]} ({commits.subject(commit)}): {said}")
    lines.append(f"reproduce the pair: `{result['reproduce']}`")
    return lines


def _measurement(median_us: float | None, failed_check: str | None) -> str:
    """A commit's measurement in words, and the check it failed."""
    parts = [] if median_us is None else [f"{median_us:.1f} us"]
    if failed_check:
        parts.append(f"FAILS {failed_check}")
    return ", ".join(parts)


def summary_lines(document: dict[str, Any], commits: CommitRange) -> list[str]:
    lines = [
        f"# smmu-rig bisect: {document['looking_for']}",
        "",
        *[f"- {line}" for line in answer(document, commits)],
        "",
        f"Range: {commits.name(commits.good)} (good) .. {commits.name(commits.bad)} (bad), "
        f"{document['commits_in_range']} commits along first parents; profile "
        f"`{document['profile']}`, mode `{document['mode']}`, threshold "
        f"{document['threshold_pct']:g}%.",
        "",
        f"Ends: {document['ends'] or '(not compared)'}.",
        "",
        "| # | role | commit | subject | mark | why | build (s) | boots (s) | run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for step in document["steps"]:
        build = "cached" if step["kernel_cached"] else _seconds(step["build_seconds"])
        lines.append(
            f"| {step['number']} | {step['role']} | `{step['commit'][:12]}` | {step['subject']} "
            f"| {step['mark']} | {step['why']} | {build} | {_seconds(step['boot_seconds'])} "
            f"| `{step['run_dir'] or ''}` |"
        )
    return lines


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
