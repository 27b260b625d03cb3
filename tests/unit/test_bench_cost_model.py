"""The render bench's start-up / per-object split, on figures whose answer is known."""

from __future__ import annotations

import pytest

from bench.bench_render_scale import print_cost_model


def test_the_line_goes_through_the_two_smallest_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    # ours: 0.2 s + 200 us per object; helm: 0.06 s + 400 us; the largest size is off the line
    print_cost_model(
        {
            "camelops render": [(3_000, 0.8), (300, 0.26), (30_000, 9.0)],
            "helm template": [(300, 0.18), (3_000, 1.26), (30_000, 1.0)],
        }
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [
        "camelops",
        "render",
        "fixed",
        "0.200",
        "s",
        "per",
        "object",
        "200",
        "us",
    ]
    assert lines[2].split() == [
        "helm",
        "template",
        "fixed",
        "0.060",
        "s",
        "per",
        "object",
        "400",
        "us",
    ]
    assert lines[3].strip() == "camelops render is the faster from ~700 objects"


def test_cheaper_start_and_objects_is_faster_at_every_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_cost_model(
        {"camelops render": [(300, 0.1), (3_000, 0.5)], "helm template": [(300, 0.2), (3_000, 1.0)]}
    )
    assert capsys.readouterr().out.splitlines()[-1].strip() == (
        "camelops render is the faster at every size"
    )
