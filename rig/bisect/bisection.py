"""The bisection, one way: the range -> both ends measured and compared -> one step per
commit the search asks for -> the report, rewritten after every step so a bisection
stopped half-way keeps what it learned."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rig.bisect import report
from rig.bisect.commit_range import CommitRange
from rig.bisect.judge import Judge
from rig.bisect.search import Search
from rig.bisect.step import Request, StepRecord, measure
from rig.errors import UserError
from rig.progress import Progress
from rig.run import records
from rig.sizes import format_size


@dataclass(frozen=True)
class Outcome:
    folder: Path
    # The first bad commit alone, or every commit it could be (skipped ones before it).
    culprits: tuple[str, ...]


def new_folder(out: Path, metric: str, size: int, correctness: bool) -> Path:
    what = "correctness" if correctness else f"{metric}-{format_size(size)}"
    name = f"bisect-{time.strftime('%Y%m%d-%H%M%S')}-{what}"
    out.mkdir(parents=True, exist_ok=True)
    folder = records.claim_folder(out, name)
    if folder is None:
        raise UserError(f"{out}: no free folder name for {name}")
    return folder


def bisect(
    request: Request,
    commits: CommitRange,
    out: Path,
    progress: Progress,
    threshold_pct: float,
) -> Outcome:
    folder = new_folder(out, request.metric, request.size_bytes, request.correctness)
    book = report.Book(folder, request, commits, threshold_pct)
    progress.say(
        f"bisecting {len(commits.commits)} commits from {commits.name(commits.good)} to "
        f"{commits.name(commits.bad)}; report in {folder}"
    )

    def run(commit: str, role: str) -> StepRecord:
        number = len(book.steps)
        step_folder = folder / "steps" / f"{number:02d}-{role}-{commit[:12]}"
        step_folder.mkdir(parents=True)
        with progress.phase(f"{role}: {commits.name(commit)}"):
            return measure(request, commit, step_folder, progress.quiet)

    good = run(commits.good, "good")
    book.add(good, "good end", None, "")
    bad = run(commits.bad, "bad")
    book.add(bad, "bad end", None, "")
    judge = Judge(good.measured, bad.measured, request.correctness, request.icount, threshold_pct)
    try:
        book.ends = judge.check_ends(commits.name(commits.good), commits.name(commits.bad))
    except UserError as err:
        book.finish(refused=err.message)
        raise
    progress.say(f"    ends: {book.ends}")
    book.write()
    search = Search(commits.commits)
    spent: list[float] = []
    while (commit := search.next()) is not None:
        number = len(spent) + 1
        left = search.steps_left()
        eta = f"about {sum(spent) / len(spent) * left:.0f} s left" if spent else "first step"
        progress.say(
            f"[bold]step {number} of about {number - 1 + left}[/bold]: "
            f"{commits.name(commit)} ({len(search.undecided())} commits undecided; {eta})"
        )
        record = run(commit, "step")
        spent.append(record.seconds)
        mark, why = judge.mark(record.measured)
        search.mark(commit, mark)
        book.add(record, "step", mark, why)
        progress.say(f"    {commit[:12]} is {mark}: {why}")
        book.write()
    culprits = search.culprits()
    book.finish(culprits=culprits)
    return Outcome(folder, culprits)
