"""How long the largest and the most absurd cells take: the bounds users rely on.

* ``chains`` — a cell of L definitions, ``h_k = tanh(W h_{k−1})`` (and other
  layers), through what the magic does: ``derive()``, the numeric check of the
  result, and the mime bundle (printing).  One sample per length (L = 5000 takes
  seconds), CPU and wall time, and the log-log slope over L (1 is linear).
* ``requests`` — a cell of N requests run by ``%%mderive`` in an IPython shell:
  the time to the answer, and how many results the numeric checks covered
  within ``MatcalcMagics.check_time``; with the default time limit and without.
* ``constants`` — cells with constants out of float64's range (``9 ** 9 ** 9``,
  ``1e999999999``, …) and a Hessian through ``A^{-100}``: the time to the
  refusal.

Nothing here is a timed test; ``tests/test_bench_smoke.py`` runs it with the
smallest parameters.  Run ``python bench/bench_limits.py [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

C.ensure_importable()

LAYERS = {
    "tanh": "tanh(W {prev})",
    "exp": "exp({prev})",
    "sum": "{prev} + W x",
    "product": "W {prev}",
}

CONSTANTS = {
    "9 ** 9 ** 9": "x : n\nJ = (9 ** 9 ** 9) * sum(x)\n∂J/∂x",
    "1e999999999": "x : n\nJ = sum(1e999999999 x)\n∂J/∂x",
    "2 ** 2 ** 2 ** 2 ** 2 ** 2": "x : n\nc : scalar\nJ = c * 2 ** 2 ** 2 ** 2 ** 2 ** 2 * sum(x)\n∂J/∂c",
    "hessian(tr(A^{-100}), A)": "A : n x n\nhessian(tr(A^{-100}), A)",
}


def chain_cell(length: int, layer: str) -> str:
    lines = ["x : n", "W : n x n"]
    prev = "x"
    for k in range(1, length + 1):
        lines.append(f"h{k} = " + LAYERS[layer].format(prev=prev))
        prev = f"h{k}"
    return "\n".join(lines + [f"J = sum({prev})", "∂J/∂x"])


def requests_cell(count: int) -> str:
    return "x : n\nA : n x n\n" + "\n".join(f"∂(x^T A x + {k})/∂x" for k in range(1, count + 1))


def bench_chains(lengths: list[int], layers: list[str]) -> list[dict]:
    import matcalc_magic as mm
    from matcalc_magic.display import CellOutput

    mm.derive(chain_cell(3, "tanh"))[0].check(points=1)  # warm-up
    rows = []
    for layer in layers:
        for length in lengths:
            phases = C.Phases()
            cell = chain_cell(length, layer)
            gc.collect()
            try:
                with phases("derive"):
                    res = mm.derive(cell)
            except mm.MatcalcError as e:
                rows.append({"layer": layer, "L": length, "refused": e.message})
                print(f"  chain {layer:8} L={length:5}: refused: {e.message}", file=sys.stderr, flush=True)
                continue
            with phases("check"):
                checks = [r.check() for r in res]
            with phases("print"):
                CellOutput(res, "shape", checks=checks).bundle()
            row = {"layer": layer, "L": length, "checked": all(c.ok for c in checks)}
            for name in ("derive", "check", "print"):
                row[name], row[name + "_cpu"] = phases.last(name)
            row["total"] = row["derive"] + row["check"] + row["print"]
            row["total_cpu"] = row["derive_cpu"] + row["check_cpu"] + row["print_cpu"]
            rows.append(row)
            print(f"  chain {layer:8} L={length:5}: total {C.ms(row['total'])} (cpu {C.ms(row['total_cpu'])})",
                  file=sys.stderr, flush=True)
    return rows


def bench_requests(counts: list[int]) -> list[dict]:
    import re

    from IPython.testing import globalipapp
    from IPython.utils.capture import capture_output

    globalipapp.start_ipython()
    ip = globalipapp.get_ipython()
    ip.run_line_magic("load_ext", "matcalc_magic")
    magics = ip.magics_manager.registry["MatcalcMagics"]
    magics.widgets = "never"
    ip.run_cell("%%mderive\nx : n\n∂(sum(x))/∂x")  # warm-up
    rows = []
    for count in counts:
        for timeout in (magics.timeout, 0):
            magics.timeout = timeout
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            with capture_output() as cap:
                result = ip.run_cell("%%mderive\n" + requests_cell(count))
            row = {"requests": count, "timeout": timeout, "seconds": time.perf_counter() - t0,
                   "cpu": time.process_time() - c0, "answered": "results" if result.success else "stopped"}
            plain = cap.outputs[0].data["text/plain"] if cap.outputs else ""
            m = re.search(r"the first ([\d,]+) of [\d,]+ results were checked", plain)
            row["checked"] = int(m.group(1).replace(",", "")) if m else (count if result.success else 0)
            if not result.success:
                row["message"] = re.sub(r"\x1b\[[0-9;]*m", "", cap.stdout + cap.stderr).split("\n")[0]
            rows.append(row)
            print(f"  {count} requests, timeout {timeout}: {C.ms(row['seconds'])}, {row['answered']}",
                  file=sys.stderr, flush=True)
        magics.timeout = 10.0
    return rows


def bench_constants() -> list[dict]:
    import matcalc_magic as mm

    rows = []
    for name, cell in CONSTANTS.items():
        t0 = time.perf_counter()
        try:
            mm.derive(cell)
            outcome = "derived"
        except mm.MatcalcError as e:
            outcome = e.message
        rows.append({"cell": name, "seconds": time.perf_counter() - t0, "outcome": outcome})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small lengths and counts")
    parser.add_argument("--lengths", help="definition-chain lengths, e.g. 1000,2000,5000")
    parser.add_argument("--layers", default="tanh,exp,sum,product", help=f"chain layers: {', '.join(LAYERS)}")
    parser.add_argument("--requests", help="request counts, e.g. 20000")
    parser.add_argument("--only", help="chains,requests,constants (default: all)")
    parser.add_argument("--json", help="write everything measured here")
    a = parser.parse_args(argv)
    lengths = [int(x) for x in (a.lengths or ("50,100" if a.quick else "1000,2000,5000")).split(",")]
    counts = [int(x) for x in (a.requests or ("200" if a.quick else "20000")).split(",")]
    only = set((a.only or "chains,requests,constants").split(","))
    report = {"machine": C.machine_info()}
    print(C.machine_line(report["machine"]))
    if "chains" in only:
        rows = bench_chains(lengths, a.layers.split(","))
        report["chains"] = rows
        print("\n### Definition chains (one sample each)\n")
        print(C.table([{**r, **{k: C.ms(r.get(k)) for k in ("derive", "check", "print", "total", "total_cpu")},
                        "checked": r.get("checked", "refused: " + r.get("refused", ""))}
                       for r in rows],
                      [("layer", "layer"), ("L", "L"), ("derive", "derive"), ("check", "check"),
                       ("print", "print"), ("total", "total"), ("total_cpu", "total CPU"), ("checked", "✓")]))
        slopes = {layer: C.growth_exponent([r["L"] for r in rows if r["layer"] == layer and "total" in r],
                                           [r["total_cpu"] for r in rows if r["layer"] == layer and "total" in r])
                  for layer in a.layers.split(",")}
        report["chain_slopes"] = slopes
        print("\nlog-log slope of total CPU time over L: "
              + ", ".join(f"{k} {C.fmt(v)}" for k, v in slopes.items()))
    if "requests" in only:
        rows = bench_requests(counts)
        report["requests"] = rows
        print("\n### Many requests, through %%mderive\n")
        print(C.table([{**r, "seconds": C.ms(r["seconds"]), "cpu": C.ms(r["cpu"]),
                        "timeout": "none" if not r["timeout"] else f"{r['timeout']:g} s"} for r in rows],
                      [("requests", "requests"), ("timeout", "time limit"), ("seconds", "answer after"),
                       ("cpu", "CPU"), ("answered", "answer"), ("checked", "results checked")]))
        for r in rows:
            if r.get("message"):
                print(f"\n{r['requests']} requests, limit {r['timeout']:g} s: {r['message']}")
    if "constants" in only:
        rows = bench_constants()
        report["constants"] = rows
        print("\n### Constants out of range\n")
        print(C.table([{**r, "seconds": C.ms(r["seconds"])} for r in rows],
                      [("cell", "cell"), ("seconds", "refused after"), ("outcome", "message")]))
    if a.json:
        C.write_json(a.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
