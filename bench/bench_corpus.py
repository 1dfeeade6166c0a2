"""The test corpus as a benchmark: how long each derivation takes warm, and
how long its printed forms are.

For every cell of ``tests/corpus`` (each distinct cell once):

* the warm time of ``derive()`` plus the shape view's text and LaTeX of every
  result, which is what the magic does before display (median of repeats after
  a warm-up run; goal: every cell under 25 ms);
* for every request of the corpus and every layout, the length of the printed
  text and LaTeX (the whole equation, "where" parts included).

``--json FILE`` writes everything; ``--compare OLD.json`` adds, per layout and
format, how many printed forms got longer or shorter than in an earlier run
and the total change in characters.

Run ``python bench/bench_corpus.py [--repeats N] [--json FILE] [--compare OLD.json]``.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import common as C  # noqa: E402

GOAL = 0.025  # seconds, warm, per cell
LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")


def corpus_entries():
    import corpus  # noqa: F401  (tests/corpus: the package of sources)
    from test_corpus import ENTRIES

    return ENTRIES


def time_cell(cell: str, repeats: int, warmup: int) -> dict:
    import matcalc_magic as mm

    def once():
        for r in mm.derive(cell):
            v = r.view("shape")
            _ = (v.text, v.latex)

    return C.measure(once, repeats, warmup)


def time_requests(cell: str, repeats: int, warmup: int) -> list[dict]:
    """Each request of a cell on its own: differentiate, tidy and print its
    shape view (text and LaTeX), the cell parsed and checked once."""
    from matcalc_magic.api import Result, _derive
    try:
        from matcalc_magic.typecheck import check
    except ImportError:  # older versions, which a --compare run may measure
        from matcalc_magic.check import check
    from matcalc_magic.syntax import parse

    checked = check(parse(cell))
    # older versions derive without the cell's names, or without a cache of derivatives
    params = inspect.signature(_derive).parameters
    out = []
    for req in checked.requests:
        def once(req=req):
            kw = {"names": checked.labels} if "names" in params else {}
            if "derived" in params:
                kw["derived"] = {}  # empty each time: the derivation is what is timed
            v = Result(checked, req, _derive(req, **kw)).view("shape")
            _ = (v.text, v.latex)

        out.append({"request": req.text, **C.measure(once, repeats, warmup)})
    return out


def printed_lengths(entries) -> dict:
    """{"source/id": {layout: {"text": n, "latex": n}}} for every entry."""
    import matcalc_magic as mm

    out, derived = {}, {}
    for e in entries:
        key = f"{e.source}/{e.id}"
        try:
            d = derived.get(e.cell) or derived.setdefault(e.cell, mm.derive(e.cell))
            r = d[e.request]
            out[key] = {lay: {"text": len(r.view(lay).text), "latex": len(r.view(lay).latex)} for lay in LAYOUTS}
        except Exception as exc:  # a refused entry is recorded, not fatal
            out[key] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return out


def compare(new: dict, old: dict) -> list[dict]:
    rows = []
    for lay in LAYOUTS:
        for fmt in ("text", "latex"):
            longer, shorter, delta, same, worst = 0, 0, 0, 0, None
            for key, per in new.items():
                before = old.get(key, {})
                if "error" in per or "error" in before or lay not in before:
                    continue
                a, b = before[lay][fmt], per[lay][fmt]
                delta += b - a
                if b > a:
                    longer += 1
                    if worst is None or b - a > worst[1]:
                        worst = (key, b - a)
                elif b < a:
                    shorter += 1
                else:
                    same += 1
            rows.append({"layout": lay, "format": fmt, "longer": longer, "shorter": shorter, "same": same,
                         "delta": delta, "worst": f"{worst[0]} (+{worst[1]})" if worst else "—"})
    return rows


def run(repeats: int = 5, warmup: int = 1, only: str | None = None) -> dict:
    entries = corpus_entries()
    if only:
        entries = [e for e in entries if only in f"{e.source}/{e.id}"]
    cells, first = [], {}
    for e in entries:
        if e.cell not in first:
            first[e.cell] = f"{e.source}/{e.id}"
            cells.append(e.cell)
    timings, requests = [], []
    for cell in cells:
        try:
            t = time_cell(cell, repeats, warmup)
            timings.append({"entry": first[cell], **t})
            requests += [{"entry": first[cell], **r} for r in time_requests(cell, repeats, warmup)]
        except Exception as exc:
            timings.append({"entry": first[cell], "error": f"{type(exc).__name__}"})
    ok = [t for t in timings if "median" in t]
    medians = sorted(t["median"] for t in ok)
    per_request = sorted(r["median"] for r in requests)
    return {
        "machine": C.machine_info(),
        "cells": len(cells),
        "timings": timings,
        "requests": requests,
        "slowest": sorted(ok, key=lambda t: -t["median"])[:10],
        "slowest_requests": sorted(requests, key=lambda r: -r["median"])[:10],
        "median_of_medians": statistics.median(medians) if medians else None,
        "max": medians[-1] if medians else None,
        "request_median": statistics.median(per_request) if per_request else None,
        "request_max": per_request[-1] if per_request else None,
        "over_goal": [t["entry"] for t in ok if t["median"] > GOAL],
        "requests_over_goal": [f"{r['entry']} {r['request']}" for r in requests if r["median"] > GOAL],
        "goal": GOAL,
        "lengths": printed_lengths(entries),
    }


def format_report(report: dict, old: dict | None = None) -> str:
    out = ["# The test corpus, warm", "", C.machine_line(report["machine"]), "",
           f"{report['cells']} cells; derive() + shape view (text and LaTeX), median per cell: "
           f"median {C.ms(report['median_of_medians'])}, slowest {C.ms(report['max'])}; "
           f"over {C.ms(report['goal'])}: {len(report['over_goal'])}",
           f"{len(report['requests'])} derivations (one request: differentiate, tidy, print): "
           f"median {C.ms(report['request_median'])}, slowest {C.ms(report['request_max'])}; "
           f"over {C.ms(report['goal'])}: {len(report['requests_over_goal'])}", ""]
    out.append(C.table([{"entry": t["entry"], "median": C.ms(t["median"]), "cpu": C.ms(t.get("cpu_median"))}
                        for t in report["slowest"]],
                       [("entry", "slowest cells (first entry)"), ("median", "median (wall)"), ("cpu", "CPU")]))
    out += ["", C.table([{"entry": f"{r['entry']}: {r['request']}", "median": C.ms(r["median"]),
                          "cpu": C.ms(r.get("cpu_median"))} for r in report["slowest_requests"]],
                        [("entry", "slowest derivations"), ("median", "median (wall)"), ("cpu", "CPU")])]
    total = {f: sum(per[l][f] for per in report["lengths"].values() if "error" not in per for l in LAYOUTS)
             for f in ("text", "latex")}
    out += ["", f"printed characters over all entries and layouts: text {total['text']}, LaTeX {total['latex']}"]
    if old is not None:
        out += ["", C.table(compare(report["lengths"], old["lengths"]),
                            [("layout", "layout"), ("format", "format"), ("longer", "longer"), ("shorter", "shorter"),
                             ("same", "same"), ("delta", "Δ chars"), ("worst", "most grown")])]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--only", help="only entries whose source/id contains this text")
    ap.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    ap.add_argument("--compare", metavar="OLD", help="a JSON report of an earlier run to compare lengths with")
    args = ap.parse_args(argv)
    report = run(args.repeats, args.warmup, args.only)
    old = None
    if args.compare:
        import json

        old = json.loads(Path(args.compare).read_text())
    C.emit(format_report(report, old), report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
