"""Fuzzing mutated realistic cells: each derives, or raises one MatcalcError,
and answers within seconds.

Cells of the test corpus are mangled by :mod:`mutations` (typos, swapped
operators, absurd numbers, wrapped calls, extra powers, nasty lines, long
repetitions); each is derived and every result printed in every layout,
turned into NumPy code and checked numerically.  Anything but a MatcalcError
is a bug.  As in the magic, work past ``LIMIT`` seconds is stopped by the
time limit, which must name the line it stopped on; a cell that runs past
``BUDGET`` regardless is a hang.

The suite runs a fixed sample (``MATCALC_FUZZ_EXAMPLES``, default 200).  A long
run that counts outcomes and reports the slowest cells instead of stopping at
the first failure::

    python tests/test_fuzz.py --examples 50000 --seed 1 --json fuzz.json
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc_magic as mm
from conftest import Hang, no_hang
from matcalc_magic.deadline import TimeLimit, time_limit
from matcalc_magic.errors import MatcalcError
from mutations import mutate, seeds

LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")
#: the magic's time limit (its default), under which the long run's cells run;
#: the suite's sample stops sooner, to stay quick (a stop is a valid answer)
LIMIT = 10
SUITE_LIMIT = 3
#: seconds one cell may take, everything included: past this it hangs
BUDGET = 30
SEEDS = seeds()


#: results of a cell used in every way (the rest are printed, as the magic bounds its checks too)
FULLY = 10


def exercise(text: str) -> str:
    """Derive ``text`` and use its results as a user would: ``"derived"`` or
    ``"refused"`` (a MatcalcError, which must read as one located message)."""
    try:
        res = mm.derive(text)
    except MatcalcError as e:
        assert e.message and str(e)
        return "refused"
    for r in res:
        assert r.text and r.latex
    for r in list(res)[:FULLY]:
        for layout in LAYOUTS:
            v = r.view(layout)
            assert v.text and v.latex
            v.shape
        try:
            r.view().numpy_code
        except MatcalcError:
            pass  # a result without a NumPy form says so
        report = r.check(points=1)
        assert report.message or report.ok
    return "derived"


def fuzz_case(seed_cell: str, rng: random.Random) -> str:
    return mutate(seed_cell, rng)


def answer(text: str, stops: list | None = None, limit: float = LIMIT) -> str:
    """``exercise`` under the magic's time limit: ``"stopped"`` when the limit
    stopped it at a named line of the cell (appended to ``stops``)."""
    try:
        with time_limit(limit):
            return exercise(text)
    except TimeLimit as stop:
        assert stop.task is not None and stop.task.span is not None, "stopped without naming a line"
        assert 0 <= stop.task.span.start <= len(text)
        if stops is not None:
            line = text.count("\n", 0, stop.task.span.start) + 1
            stops.append({"while": stop.task.what, "line": line, "cell": text[:2000]})
        return "stopped"


@settings(max_examples=int(os.environ.get("MATCALC_FUZZ_EXAMPLES", "200")), deadline=None, derandomize=True,
          database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_mutated_cells_derive_or_raise_one_matcalc_error_in_time(seed_cell, rng):
    text = fuzz_case(seed_cell, rng)
    with no_hang(BUDGET):
        answer(text, limit=SUITE_LIMIT)


def test_the_seeds_derive():
    """The unmutated cells are valid: the fuzzer starts from working derivations."""
    for cell in SEEDS:
        assert len(mm.derive(cell)) >= 1


# ====================================================================== the long run
def long_run(examples: int, seed: int, budget_s: float) -> dict:
    """Fuzz ``examples`` cells; count outcomes, keep every failure and the
    slowest cells (a failure is any exception but a MatcalcError, or a cell
    over ``budget_s``)."""
    counts = {"derived": 0, "refused": 0, "stopped": 0, "failed": 0, "over budget": 0}
    failures, slowest, stops = [], [], []
    started = time.perf_counter()
    for k in range(examples):
        rng = random.Random(seed * 1_000_003 + k)
        text = fuzz_case(rng.choice(SEEDS), rng)
        t = time.perf_counter()
        try:
            with no_hang(budget_s):
                outcome = answer(text, stops)
        except Hang:
            outcome = "over budget"
            failures.append({"case": k, "cell": text, "error": f"over {budget_s} s"})
        except BaseException as e:  # noqa: BLE001 - every escape is recorded
            if isinstance(e, KeyboardInterrupt):
                raise
            outcome = "failed"
            failures.append({"case": k, "cell": text, "error": f"{type(e).__name__}: {e}"[:500],
                             "where": traceback.format_exc(limit=-3)[-1500:]})
        elapsed = time.perf_counter() - t
        counts[outcome] += 1
        slowest.append((elapsed, k, outcome, text))
        slowest = sorted(slowest, reverse=True)[:10]
        if (k + 1) % 500 == 0:
            print(f"{k + 1} cells, {time.perf_counter() - started:.0f} s: {counts}; worst {slowest[0][0]:.2f} s",
                  file=sys.stderr, flush=True)
    return {"examples": examples, "seed": seed, "counts": counts, "seconds": time.perf_counter() - started,
            "failures": failures, "stopped": stops,
            "slowest": [{"seconds": round(s, 3), "case": k, "outcome": o, "cell": c} for s, k, o, c in slowest]}


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=BUDGET, help="seconds a cell may take before it counts as a hang")
    parser.add_argument("--json", help="write the report here")
    a = parser.parse_args()
    report = long_run(a.examples, a.seed, a.budget)
    print(json.dumps({k: v for k, v in report.items() if k not in ("failures", "slowest", "stopped")}, indent=1))
    for s in report["stopped"][:20]:
        print(f"stopped while {s['while']} (line {s['line']}): {s['cell'][:200]!r}")
    for f in report["failures"][:20]:
        print("FAILED", f["case"], f["error"], repr(f["cell"][:300]))
    for s in report["slowest"][:5]:
        print(f"slow {s['seconds']:.2f} s ({s['outcome']}): {s['cell'][:200]!r}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=1)  # ASCII: cells may hold lone surrogates
