"""Benchmarks of the ``%%mderive`` magic and its widget, in a real IPython shell.

* ``cell`` — the CS224n network cell (five gradients and one claim) run
  end to end through ``run_cell_magic``: parse, check, differentiate, numeric
  checks, claim verdicts, rendering of the mime bundle and its display
  (goal: under 100 ms warm).  Also without the numeric checks, interactive
  (every layout as data for the extension's toggle, and the live widget),
  and the parts on their own (derive / checks / claims / render).
* ``switch`` — a layout switch in the widget as the front end triggers it
  (``toggle.set_state``): the first visit of a layout (the engine builds that
  view once) and later switches between layouts already seen (goal: under
  10 ms; never a re-derivation, which is asserted by counting calls).

Timing is noisy on shared machines: every figure is the median of several
repeats after a warm-up, the variants are timed round-robin (so the load
weighs on all of them alike), and the comparisons that matter are ratios
within this one run.  Run ``python bench/bench_magic.py [--repeats N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

CS224N = C.CS224N_CELL + "claim ∂J/∂θ = ŷ - y\n"
CELL_GOAL = 0.100
SWITCH_GOAL = 0.010


def interleaved(fns: dict, repeats: int, warmup: int = 1) -> tuple[dict, dict]:
    """Median wall and CPU time of each function, timed round-robin so that the
    load of a shared machine weighs on all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=15, help="timed repeats per figure (default 15)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    R = args.repeats

    t0 = time.perf_counter()
    from IPython.testing.globalipapp import get_ipython
    from IPython.utils.capture import capture_output

    import matcalc_magic as mm
    from matcalc_magic.calculus import derivative
    from matcalc_magic.claims import gather
    from matcalc_magic.display import CellOutput
    from matcalc_magic.widgets import DerivationWidget

    ip = get_ipython()
    ip.run_line_magic("load_ext", "matcalc_magic")
    magics = ip.magics_manager.registry["MatcalcMagics"]
    magics.widgets = "never"
    with capture_output():
        ip.run_cell_magic("mderive", "", CS224N)  # first import of every module, grammar, rules
    first = time.perf_counter() - t0

    def cell(options: str = "", widgets: str = "never"):
        def run():
            magics.widgets = widgets
            with capture_output() as cap:
                ip.run_cell_magic("mderive", options, CS224N)
            assert cap.outputs, "no output"
        return run

    d = mm.derive(CS224N)

    def render():
        fresh = mm.derive(CS224N)  # views not cached yet: printing included
        checks = [None] * len(fresh.results)
        CellOutput(fresh, checks=checks, claims=gather(fresh)).bundle()

    figures, cpu = interleaved({
        "cell": cell(),
        "cell --no-check": cell("--no-check"),
        "cell, interactive": cell(widgets="always"),
        "  derive": lambda: mm.derive(CS224N),
        "  numeric checks (5 results)": lambda: [r.check() for r in d],
        "  claim evidence (1 claim)": lambda: gather(d),
        "  derive + claims": lambda: gather(mm.derive(CS224N)),
        "  derive + claims + render": render,
    }, R)
    magics.widgets = "never"
    for f in (figures, cpu):
        f["  render (by difference)"] = max(0.0, f.pop("  derive + claims + render") - f.pop("  derive + claims"))
        f["  layouts + widget (by difference)"] = max(0.0, f["cell, interactive"] - f["cell"])

    # ------------------------------------------------------------------ layout switch in the widget
    calls = {"derive_one": 0}
    original = derivative.derive_one

    def counting(*a, **k):
        calls["derive_one"] += 1
        return original(*a, **k)

    order = ("shape", "numerator", "denominator", "index", "vec")
    index = {name: i for i, name in enumerate(mm.LAYOUTS)}

    def fresh_widget():
        fresh = mm.derive(CS224N)
        out = CellOutput(fresh, checks=[r.check() for r in fresh], claims=gather(fresh))
        return DerivationWidget(out)

    first_visits, first_cpu = [], []
    for _ in range(max(3, R // 3)):
        w = fresh_widget()
        derivative.derive_one = counting
        try:
            for layout in order[1:]:
                t, c = time.perf_counter(), time.process_time()
                w.toggle.set_state({"index": index[layout]})
                first_visits.append(time.perf_counter() - t)
                first_cpu.append(time.process_time() - c)
        finally:
            derivative.derive_one = original
    figures["switch, first visit of a layout"] = statistics.median(first_visits)
    cpu["switch, first visit of a layout"] = statistics.median(first_cpu)

    w = fresh_widget()
    for layout in order:  # every view built once
        w.toggle.set_state({"index": index[layout]})
    derivative.derive_one = counting
    try:
        state = {"k": 0}

        def switch():
            state["k"] += 1
            w.toggle.set_state({"index": index["numerator" if state["k"] % 2 else "denominator"]})
        w_, c_ = interleaved({"switch": switch}, max(R, 50), warmup=4)
        figures["switch, layouts already seen"] = w_["switch"]
        cpu["switch, layouts already seen"] = c_["switch"]
    finally:
        derivative.derive_one = original
    assert calls["derive_one"] == 0, "a layout switch re-derived"

    # ------------------------------------------------------------------ report
    print(f"matcalc_magic {mm.__version__} · Python {platform.python_version()} · {platform.machine()}")
    print(f"medians of {R} repeats after warm-up; first cell in a fresh process (imports included): {first:.2f} s\n")
    print(f"{'':<36}{'wall':>11}{'CPU':>11}")
    for name, value in figures.items():
        print(f"{name:<36}{ms(value)}{ms(cpu[name])}")
    print()
    cell_t, switch_t = figures["cell"], figures["switch, layouts already seen"]
    print(f"cell goal < {CELL_GOAL * 1e3:.0f} ms: {'met' if cell_t < CELL_GOAL else 'NOT met'} "
          f"({cell_t / CELL_GOAL:.2f} of the budget); the numeric checks are "
          f"{figures['  numeric checks (5 results)'] / cell_t:.0%} of the cell")
    print(f"switch goal < {SWITCH_GOAL * 1e3:.0f} ms: "
          f"{'met' if max(switch_t, figures['switch, first visit of a layout']) < SWITCH_GOAL else 'NOT met'}; "
          f"a switch costs {switch_t / cell_t:.1%} of running the cell (first visit "
          f"{figures['switch, first visit of a layout'] / cell_t:.1%}); derive_one calls during switches: "
          f"{calls['derive_one']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"first_cell_s": first, "wall_s": {k.strip(): v for k, v in figures.items()},
                       "cpu_s": {k.strip(): v for k, v in cpu.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
