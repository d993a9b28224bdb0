"""The search over a range, as git bisect runs it: the commit it names, how many steps
it takes, and what it says when skipped commits hide the answer."""

from __future__ import annotations

import math

import pytest

from rig.bisect.search import BAD, GOOD, SKIP, Search


def run(
    commits: list[str], first_bad: str, skipped: frozenset[str] = frozenset()
) -> tuple[tuple[str, ...], list[str]]:
    """Bisect ``commits`` (BAD last) where everything from ``first_bad`` on is bad."""
    search = Search(tuple(commits))
    tried = []
    while (commit := search.next()) is not None:
        tried.append(commit)
        if commit in skipped:
            search.mark(commit, SKIP)
        else:
            search.mark(commit, BAD if commits.index(commit) >= commits.index(first_bad) else GOOD)
    return search.culprits(), tried


@pytest.mark.parametrize("length", [1, 2, 3, 7, 8, 9, 16, 100])
def test_every_first_bad_commit_is_found_in_log2_steps(length: int) -> None:
    commits = [f"c{i}" for i in range(length)]
    for first_bad in commits:
        culprits, tried = run(commits, first_bad)
        assert culprits == (first_bad,)
        assert len(tried) <= math.ceil(math.log2(length)), (first_bad, tried)


def test_eight_commits_take_three_steps_and_start_in_the_middle() -> None:
    commits = [f"c{i}" for i in range(1, 9)]
    culprits, tried = run(commits, "c5")
    assert culprits == ("c5",) and tried == ["c4", "c6", "c5"]


def test_a_skipped_middle_moves_to_its_neighbour_and_still_finds_it() -> None:
    commits = [f"c{i}" for i in range(1, 6)]
    culprits, tried = run(commits, "c4", skipped=frozenset({"c2"}))
    assert culprits == ("c4",)
    assert tried[0] == "c2" and tried[1] == "c3"


def test_a_skipped_commit_just_before_the_first_bad_one_leaves_both() -> None:
    commits = [f"c{i}" for i in range(1, 9)]
    culprits, _ = run(commits, "c5", skipped=frozenset({"c4"}))
    assert culprits == ("c4", "c5")


def test_steps_left_counts_down() -> None:
    search = Search(tuple(f"c{i}" for i in range(8)))
    assert search.steps_left() == 3
    search.mark("c3", GOOD)
    assert search.steps_left() == 2


def test_marks_are_checked() -> None:
    search = Search(("a", "b"))
    with pytest.raises(ValueError):
        search.mark("a", "maybe")
    with pytest.raises(ValueError):
        search.mark("z", GOOD)
    with pytest.raises(ValueError):
        search.culprits()
