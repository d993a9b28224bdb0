"""The search over a range of commits, as `git bisect` runs it: pure, one mark at a time.

The range is GOOD..BAD along first parents, oldest first, BAD last (known bad). Each
step marks one commit good, bad or skip; the next commit tried is the middle of what is
still undecided, or its nearest neighbour that is not skipped. It ends when the last
good commit and the first bad one are adjacent (the first bad one is found), or when
only skipped commits lie between them (it is one of those or the bad one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GOOD = "good"
BAD = "bad"
SKIP = "skip"
MARKS = (GOOD, BAD, SKIP)


@dataclass
class Search:
    # GOOD..BAD, oldest first; the last is BAD itself.
    commits: tuple[str, ...]
    marks: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.commits:
            raise ValueError("an empty range has nothing to bisect")
        self.marks.setdefault(self.commits[-1], BAD)

    def mark(self, commit: str, mark: str) -> None:
        if mark not in MARKS or commit not in self.commits:
            raise ValueError(f"cannot mark {commit!r} {mark!r}")
        self.marks[commit] = mark

    def bounds(self) -> tuple[int, int]:
        """(index of the last good commit, -1 for GOOD itself; index of the first bad
        commit after it)."""
        bad = min(i for i, c in enumerate(self.commits) if self.marks.get(c) == BAD)
        goods = [i for i, c in enumerate(self.commits[:bad]) if self.marks.get(c) == GOOD]
        return (max(goods) if goods else -1, bad)

    def undecided(self) -> list[int]:
        low, high = self.bounds()
        return [i for i in range(low + 1, high) if self.commits[i] not in self.marks]

    def next(self) -> str | None:
        """The commit to try next, or None when the search is over."""
        open_ = set(self.undecided())
        if not open_:
            return None
        low, high = self.bounds()
        middle = (low + high) // 2
        # The middle, then its neighbours outwards, later ones first (as near as git's).
        for distance in range(high - low):
            for index in (middle + distance, middle - distance):
                if index in open_:
                    return self.commits[index]
        raise AssertionError("an undecided commit lies between the bounds")

    def steps_left(self) -> int:
        """About how many more commits a search without skips would try."""
        remaining = len(self.undecided())
        return math.ceil(math.log2(remaining + 1)) if remaining else 0

    def culprits(self) -> tuple[str, ...]:
        """When the search is over: the first bad commit alone, or, when skipped
        commits stand before it, each of those and it (any of them could be first)."""
        if self.next() is not None:
            raise ValueError("the search is not over")
        low, high = self.bounds()
        return tuple(self.commits[low + 1 : high + 1])
