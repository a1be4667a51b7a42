"""Unit tests of labkit.sweeps (plain numbers, no training)."""

from __future__ import annotations

import math

import pytest

from labkit import sweeps


def fake_run(config, seed):
    """A deterministic stand-in for training: max pooling is 0.02 ahead, seeds add +-0.005."""
    base = 0.5 + 0.05 * config["L"] + (0.02 if config["pooling"] == "max" else 0.0)
    return {"accuracy": base + (0.005 if seed % 2 else -0.005), "params": 1000 * config["L"]}


CONFIGS = [{"L": L, "pooling": p} for L in (2, 3) for p in ("max", "avg")]


def test_run_sweep_makes_one_row_per_config_and_seed_seed_major():
    lines = []
    rows = sweeps.run_sweep(fake_run, CONFIGS, seeds=[0, 1, 2], log=lines.append)
    assert len(rows) == 12 and len(lines) == 12
    assert [r["seed"] for r in rows[:4]] == [0, 0, 0, 0]  # every config at seed 0 first
    assert rows[0] == {"L": 2, "pooling": "max", "seed": 0, "accuracy": pytest.approx(0.615),
                       "params": 2000, "seconds": rows[0]["seconds"]}
    assert rows[0]["seconds"] >= 0
    assert lines[0].startswith("[1/12] L=2 pooling=max seed=0: accuracy 0.615, params 2000")


def test_run_sweep_keeps_a_seconds_value_returned_by_run():
    rows = sweeps.run_sweep(lambda c, s: {"seconds": 42.0}, [{"a": 1}], [0], log=None)
    assert rows[0]["seconds"] == 42.0


@pytest.mark.parametrize("configs, seeds, match", [
    ([], [0], "at least one configuration"),
    ([{"L": 2}], [], "at least one seed"),
    ([{"L": 2}], [1, 1], "repeat"),
    ([{"L": 2, "seed": 3}], [0], "seed"),
])
def test_run_sweep_rejects_bad_input(configs, seeds, match):
    with pytest.raises(ValueError, match=match):
        sweeps.run_sweep(fake_run, configs, seeds, log=None)


def test_run_sweep_rejects_results_that_are_not_dicts_or_clash_with_config():
    with pytest.raises(TypeError, match="dict"):
        sweeps.run_sweep(lambda c, s: 0.5, [{"L": 2}], [0], log=None)
    with pytest.raises(ValueError, match="rename"):
        sweeps.run_sweep(lambda c, s: {"L": 3}, [{"L": 2}], [0], log=None)


def test_mean_spread_uses_the_sample_standard_deviation():
    mean, std = sweeps.mean_spread([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(1.0)
    assert sweeps.mean_spread([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        sweeps.mean_spread([])


def test_summarize_groups_in_first_seen_order():
    rows = sweeps.run_sweep(fake_run, CONFIGS, seeds=[0, 1], log=None)
    summary = sweeps.summarize(rows, by=["L", "pooling"], metrics=["accuracy"])
    assert [(s["L"], s["pooling"]) for s in summary] == [(2, "max"), (2, "avg"), (3, "max"), (3, "avg")]
    first = summary[0]
    assert first["n"] == 2
    assert first["accuracy_mean"] == pytest.approx(0.62)
    assert first["accuracy_std"] == pytest.approx(0.01 / math.sqrt(2))
    assert first["accuracy_min"] == pytest.approx(0.615) and first["accuracy_max"] == pytest.approx(0.625)


def test_summarize_names_a_missing_metric():
    with pytest.raises(KeyError, match="loss"):
        sweeps.summarize([{"seed": 0, "L": 2, "accuracy": 0.5}], by=["L"], metrics=["loss"])


def test_paired_differences_pair_by_seed_and_group():
    rows = sweeps.run_sweep(fake_run, CONFIGS, seeds=[0, 1, 2], log=None)
    pairs = sweeps.paired_differences(rows, "pooling", "max", "avg", "accuracy", by=["L"])
    assert [p["L"] for p in pairs] == [2, 3]
    for p in pairs:
        assert p["seeds"] == [0, 1, 2]
        assert p["diffs"] == pytest.approx([0.02, 0.02, 0.02])
        assert p["mean"] == pytest.approx(0.02) and p["std"] == pytest.approx(0.0, abs=1e-12)
        assert p["a_wins"] == 3
        assert p["a_mean"] - p["b_mean"] == pytest.approx(0.02)


def test_paired_differences_refuses_duplicates_and_unpaired_groups():
    dup = [{"v": "a", "seed": 0, "m": 1.0}, {"v": "a", "seed": 0, "m": 2.0}]
    with pytest.raises(ValueError, match="two rows"):
        sweeps.paired_differences(dup, "v", "a", "b", "m")
    lonely = [{"v": "a", "seed": 0, "m": 1.0}, {"v": "b", "seed": 1, "m": 2.0}]
    with pytest.raises(ValueError, match="no seed has both"):
        sweeps.paired_differences(lonely, "v", "a", "b", "m")


@pytest.mark.parametrize("diffs, expected", [
    ([0.030, 0.031, 0.029], "max better"),               # steady lead: t = 52 with 2 degrees of freedom
    ([-0.030, -0.031, -0.029], "avg better"),
    ([0.03, -0.01, 0.02], "no clear difference"),        # the sign flips between seeds
    ([0.01, 0.05, 0.002], "no clear difference"),        # always ahead, but t = 1.4 < 4.30
    ([0.02, 0.02], "max better"),                        # no spread at all between the pairs
    ([0.2], "no clear difference (one seed only"),       # a single run proves nothing
])
def test_verdict_is_a_paired_t_test_on_the_differences(diffs, expected):
    assert sweeps.verdict(diffs, "max", "avg").startswith(expected)


def test_verdict_uses_the_pairs_spread_not_each_variants():
    # each variant varies a lot from seed to seed, but max is ahead by 1 point on every seed:
    # the paired differences hardly vary, so the lead is clear
    avg = [0.40, 0.55, 0.70]
    diffs = [m - a for m, a in zip([0.41, 0.561, 0.709], avg)]
    assert sweeps.verdict(diffs, "max", "avg") == "max better"


def test_paired_lead_needed_matches_the_t_table():
    assert sweeps.paired_lead_needed(3) == pytest.approx(4.303 / 3 ** 0.5, rel=1e-3)
    assert sweeps.paired_lead_needed(10) == pytest.approx(2.262 / 10 ** 0.5, rel=1e-3)
    with pytest.raises(ValueError, match="at least two pairs"):
        sweeps.paired_lead_needed(1)


def test_verdict_rejects_bad_differences():
    with pytest.raises(ValueError):
        sweeps.verdict([0.1, float("nan")])
    with pytest.raises(ValueError):
        sweeps.verdict([])


def test_format_table_aligns_numbers_right_and_text_left():
    rows = [{"name": "L=2 max", "acc": 0.61234, "params": 20330},
            {"name": "L=5 average", "acc": 0.7, "params": 391146}]
    text = sweeps.format_table(rows, ["name", ("acc", "accuracy", ".3f"), ("params", "params", ",d")],
                               title="Results")
    lines = text.splitlines()
    assert lines[0] == "Results"
    assert lines[1].split() == ["name", "accuracy", "params"]
    assert set(lines[2].replace(" ", "")) == {"-"}
    assert lines[3] == "L=2 max         0.612   20,330"
    assert lines[4] == "L=5 average     0.700  391,146"
    widths = {len(line) for line in lines[1:]}
    assert len(widths) == 1  # every line equally wide


def test_format_table_accepts_functions_and_missing_values():
    rows = [{"a": 1, "b": 2}, {"a": 3}]
    text = sweeps.format_table(rows, [(lambda r: r["a"] * 10, "a10"), ("b", "b")])
    assert text.splitlines()[2:] == [" 10  2", " 30  -"]  # a missing value does not break alignment
    with pytest.raises(ValueError):
        sweeps.format_table([], ["a"])


def test_pm_formats_mean_and_spread():
    assert sweeps.pm(0.7123, 0.0081) == "0.712 ± 0.008"
    assert sweeps.pm(71.23, 0.81, ".1f") == "71.2 ± 0.8"
