"""Small experiment sweeps: run one function over configurations x seeds, then summarise.

A single training run is one draw from a noisy process: another seed gives another
number. Before saying "A beats B", run both over several seeds and compare the
difference with the seed-to-seed spread. This module keeps that bookkeeping out of
the notebooks (the model and the training call stay in the lab):

- ``run_sweep(run, configs, seeds)`` calls ``run(config, seed)`` for every pair and
  collects one result row per call (the config's keys, ``seed``, what ``run`` returned).
- ``summarize(rows, by, metrics)`` groups rows and gives each metric's mean, spread
  (sample standard deviation), min, max and the number of seeds.
- ``paired_differences(...)`` compares two variants seed by seed (same seed, same data
  split, only the variant changes) and ``verdict(...)`` says, by a paired t-test, whether
  the difference stands out from the pairs' own spread.
- ``format_table(rows, columns)`` prints an aligned text table.

Nothing here imports TensorFlow; it works on plain numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np


def config_label(config: dict) -> str:
    """A short readable name for a configuration: {"L": 3, "pooling": "max"} -> "L=3 pooling=max"."""
    return " ".join(f"{k}={v}" for k, v in config.items())


def _short(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def run_sweep(run: Callable[[dict, int], dict], configs: Iterable[dict], seeds: Iterable[int],
              log: Callable[[str], None] | None = print) -> list[dict]:
    """Call ``run(config, seed)`` for every configuration and seed; return one row per call.

    Seeds form the outer loop, so a sweep stopped part-way has every configuration at the
    first seeds. ``run`` returns a dict of results (numbers, or anything else the caller wants
    to keep, such as a History); each row is ``{**config, "seed": seed, **results, "seconds": s}``.
    ``log`` gets one line per run (None: silent).
    """
    configs = [dict(c) for c in configs]
    seeds = list(seeds)
    if not configs:
        raise ValueError("run_sweep needs at least one configuration, e.g. [{'L': 2, 'pooling': 'max'}].")
    if not seeds:
        raise ValueError("run_sweep needs at least one seed, e.g. seeds=[0, 1].")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {seeds} repeat a value; each seed should be a different draw.")
    for config in configs:
        if "seed" in config:
            raise ValueError(f"config {config} has a 'seed' key; pass seeds separately (seeds=[...]).")
    rows = []
    total = len(configs) * len(seeds)
    for seed in seeds:
        for config in configs:
            start = time.perf_counter()
            result = run(dict(config), seed)
            seconds = time.perf_counter() - start
            if not isinstance(result, dict):
                raise TypeError(f"run(config, seed) must return a dict of results, got {type(result).__name__}.")
            clash = sorted(set(result) & (set(config) | {"seed"}))
            if clash:
                raise ValueError(f"run() returned {clash}, which are config or seed names; rename them.")
            row = {**config, "seed": seed, **result}
            row.setdefault("seconds", seconds)
            rows.append(row)
            if log is not None:
                shown = ", ".join(f"{k} {_short(v)}" for k, v in result.items()
                                  if isinstance(v, (int, float, np.integer, np.floating)) and k != "seconds")
                log(f"[{len(rows)}/{total}] {config_label(config)} seed={seed}: {shown} ({seconds:.1f} s)")
    return rows


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    values = np.asarray(list(values), np.float64)
    if values.size == 0:
        raise ValueError("mean_spread needs at least one value.")
    spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), spread


def summarize(rows: Sequence[dict], by: Sequence[str], metrics: Sequence[str]) -> list[dict]:
    """Group rows by the keys ``by`` and summarise each metric over the group's seeds.

    Each summary row holds the ``by`` keys, ``n`` (rows in the group) and for every metric
    ``<metric>_mean``, ``<metric>_std`` (sample standard deviation), ``<metric>_min`` and
    ``<metric>_max``. Groups keep the order in which they first appear.
    """
    by, metrics = list(by), list(metrics)
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        missing = [k for k in by + metrics if k not in row]
        if missing:
            raise KeyError(f"row {row.get('seed', '')!r} has no {missing}; it has {sorted(row)}.")
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        summary = dict(zip(by, key))
        summary["n"] = len(members)
        for m in metrics:
            values = [float(r[m]) for r in members]
            summary[f"{m}_mean"], summary[f"{m}_std"] = mean_spread(values)
            summary[f"{m}_min"], summary[f"{m}_max"] = min(values), max(values)
        out.append(summary)
    return out


def paired_differences(rows: Sequence[dict], variant: str, a, b, metric: str,
                       by: Sequence[str] = ()) -> list[dict]:
    """Compare variant ``a`` against ``b`` seed by seed: differences ``metric(a) - metric(b)``.

    Rows are paired when they share the seed and the ``by`` keys (e.g. the same depth L).
    Returns one dict per ``by`` group with ``diffs`` (one per seed), ``mean``, ``std``, ``n``,
    ``a_mean``, ``b_mean``, ``a_std``, ``b_std`` and ``a_wins`` (seeds where a was ahead).
    """
    by = list(by)
    table: dict[tuple, dict] = {}
    for row in rows:
        if row[variant] not in (a, b):
            continue
        key = tuple(row[k] for k in by)
        slot = table.setdefault(key, {a: {}, b: {}})
        if row["seed"] in slot[row[variant]]:
            raise ValueError(f"two rows for {variant}={row[variant]} seed={row['seed']} {dict(zip(by, key))}.")
        slot[row[variant]][row["seed"]] = float(row[metric])
    out = []
    for key, slot in table.items():
        seeds = sorted(set(slot[a]) & set(slot[b]))
        if not seeds:
            raise ValueError(f"no seed has both {variant}={a!r} and {variant}={b!r} for {dict(zip(by, key))}.")
        diffs = [slot[a][s] - slot[b][s] for s in seeds]
        mean, std = mean_spread(diffs)
        a_mean, a_std = mean_spread([slot[a][s] for s in seeds])
        b_mean, b_std = mean_spread([slot[b][s] for s in seeds])
        out.append({**dict(zip(by, key)), "seeds": seeds, "diffs": diffs, "n": len(seeds), "mean": mean,
                    "std": std, "a_mean": a_mean, "b_mean": b_mean, "a_std": a_std, "b_std": b_std,
                    "a_wins": sum(d > 0 for d in diffs)})
    return out


def paired_lead_needed(n: int, alpha: float = 0.05) -> float:
    """The mean paired difference, in sample standard deviations of the differences, that a
    two-sided paired t-test at level ``alpha`` needs with ``n`` pairs (4.30 / sqrt(3) = 2.48 for 3)."""
    from scipy import stats

    if n < 2:
        raise ValueError(f"a paired test needs at least two pairs, not {n}.")
    return float(stats.t.ppf(1 - alpha / 2, n - 1) / math.sqrt(n))


def verdict(diffs: Sequence[float], a: str = "a", b: str = "b", alpha: float = 0.05) -> str:
    """Say which variant is ahead, or that the runs cannot tell, from paired differences.

    A variant is called better only when it wins on every seed (at least two seeds) and a
    two-sided paired t-test on the differences rejects "no difference" at level ``alpha``: the
    mean lead must exceed ``paired_lead_needed(n)`` standard deviations of the differences
    themselves (the spread of the pairs, not of either variant alone). Anything less is
    "no clear difference": one run, or a lead within the pairs' own noise, proves nothing.
    """
    diffs = [float(d) for d in diffs]
    if not diffs:
        raise ValueError("verdict needs at least one paired difference.")
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError(f"verdict got a difference that is not a number: {diffs}.")
    if len(diffs) < 2:
        return f"no clear difference (one seed only: run more seeds before choosing between {a} and {b})"
    mean, spread = mean_spread(diffs)
    significant = abs(mean) > paired_lead_needed(len(diffs), alpha) * spread
    if significant and all(d > 0 for d in diffs):
        return f"{a} better"
    if significant and all(d < 0 for d in diffs):
        return f"{b} better"
    return "no clear difference"


def _cell(value, fmt: str | None) -> str:
    if value is None:
        return "-"
    if fmt and isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


def format_table(rows: Sequence[dict], columns: Sequence, title: str = "") -> str:
    """An aligned plain-text table.

    ``columns`` lists keys, or tuples ``(key, header)`` / ``(key, header, format)`` where format
    is a format spec such as ``".4f"`` or ``",d"``; a key may also be a function of the row.
    Numbers are right-aligned, text left-aligned.
    """
    if not rows:
        raise ValueError("format_table needs at least one row.")
    specs = []
    for col in columns:
        col = (col,) if not isinstance(col, tuple) else col
        key = col[0]
        header = col[1] if len(col) > 1 else (key if isinstance(key, str) else "value")
        fmt = col[2] if len(col) > 2 else None
        specs.append((key, header, fmt))
    cells, numeric = [], [True] * len(specs)
    for row in rows:
        line = []
        for j, (key, _, fmt) in enumerate(specs):
            value = key(row) if callable(key) else row.get(key)
            if value is not None and (not isinstance(value, (int, float, np.integer, np.floating))
                                      or isinstance(value, bool)):
                numeric[j] = False
            line.append(_cell(value, fmt))
        cells.append(line)
    headers = [h for _, h, _ in specs]
    widths = [max(len(h), *(len(line[j]) for line in cells)) for j, h in enumerate(headers)]

    def render(line):
        return "  ".join(c.rjust(w) if numeric[j] else c.ljust(w)
                         for j, (c, w) in enumerate(zip(line, widths))).rstrip()

    out = [title] if title else []
    out += [render(headers), render(["-" * w for w in widths])]
    out += [render(line) for line in cells]
    return "\n".join(out)


def pm(mean: float, std: float, fmt: str = ".3f") -> str:
    """Mean and spread as text: pm(0.7123, 0.0081) -> '0.712 ± 0.008'."""
    return f"{format(mean, fmt)} ± {format(std, fmt)}"
