"""Branch previews get short numbers that stay theirs (`pr-3`, never a hash like pr-969668655)."""

from __future__ import annotations

from reconciler.previews import preview_heads
from schema.models.project import Previews

SETTINGS = Previews(enabled=True, branch_pattern="feature/*")


def test_new_branches_get_the_next_short_numbers_in_name_order() -> None:
    refs = {"refs/heads/main": "m", "refs/heads/feature/b": "b1", "refs/heads/feature/a": "a1",
            "refs/heads/fix/x": "x", "refs/pull/4/head": "p4"}  # fmt: skip
    heads = preview_heads(refs, SETTINGS, "main")
    assert heads == {4: ("refs/pull/4/head", "p4"), 5: ("refs/heads/feature/a", "a1"),
                     6: ("refs/heads/feature/b", "b1")}  # fmt: skip


def test_a_branch_keeps_its_number_and_new_ones_skip_every_used_number() -> None:
    refs = {"refs/heads/feature/a": "a2", "refs/heads/feature/new": "n1"}
    heads = preview_heads(
        refs, SETTINGS, "main", {"refs/heads/feature/a": 2}, used=frozenset({1, 2, 9})
    )
    assert heads == {2: ("refs/heads/feature/a", "a2"), 10: ("refs/heads/feature/new", "n1")}


def test_a_pull_request_that_takes_a_branch_number_wins_and_the_branch_moves_on() -> None:
    refs = {"refs/heads/feature/a": "a2", "refs/pull/2/head": "p2"}
    heads = preview_heads(refs, SETTINGS, "main", {"refs/heads/feature/a": 2}, frozenset({2}))
    assert heads == {2: ("refs/pull/2/head", "p2"), 3: ("refs/heads/feature/a", "a2")}


def test_without_a_pattern_only_pull_requests() -> None:
    refs = {"refs/heads/feature/a": "a", "refs/pull/1/head": "p"}
    assert preview_heads(refs, Previews(enabled=True), "main") == {1: ("refs/pull/1/head", "p")}
