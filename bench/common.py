"""Shared pieces of the benchmarks: timers, cells, sizes, tables, machine info.

Timing is noisy on shared machines, so every figure is the median of several
repeats after a warm-up, and comparisons are made as ratios within one run.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

REPO = Path(__file__).resolve().parent.parent

CS224N_CELL = """\
x : n
W : m x n
b1 : m
U : k x m
b2 : k
y : k, onehot
z = W x + b1
h = relu(z)
θ = U h + b2
ŷ = softmax(θ)
J = CE(y, ŷ)
∂J/∂U, ∂J/∂b2, ∂J/∂W, ∂J/∂b1, ∂J/∂x
"""

CS224N_REQUESTS = ("U", "b2", "W", "b1", "x")


# ====================================================================== cells
def tanh_chain_cell(layers: int, widths: str = "square") -> str:
    """``h1 = tanh(W1 x)``, …, ``J = sum(h_L)``; requests ∂J/∂W1 and ∂J/∂x.

    ``widths="square"``: every ``W_k`` is n×n.  ``"alternating"``: the layer
    widths alternate n, m, n, m, … (so every transpose shows in the shapes).
    """
    if widths not in ("square", "alternating"):
        raise ValueError(f"widths must be 'square' or 'alternating', not {widths!r}")
    lines = ["x : n"]
    for k in range(1, layers + 1):
        if widths == "square":
            lines.append(f"W{k} : n x n")
        else:
            out_dim, in_dim = ("m", "n") if k % 2 else ("n", "m")
            lines.append(f"W{k} : {out_dim} x {in_dim}")
    prev = "x"
    for k in range(1, layers + 1):
        lines.append(f"h{k} = tanh(W{k} {prev})")
        prev = f"h{k}"
    lines.append(f"J = sum({prev})")
    lines.append("∂J/∂W1, ∂J/∂x")
    return "\n".join(lines) + "\n"


def nested_cell(levels: int) -> str:
    """``h1 = x ⊙ x + x``, ``h_k = h_{k-1} ⊙ h_{k-1} + h_{k-1}``, ``J = sum(h_L)``.

    Each level uses the one before three times: written out, the formula
    grows like 3^L (and as a polynomial its degree is 2^L), so any step that
    expands shared sub-expressions is exponential here."""
    lines = ["x : n", "h1 = x ⊙ x + x"]
    lines += [f"h{k} = h{k - 1} ⊙ h{k - 1} + h{k - 1}" for k in range(2, levels + 1)]
    lines += [f"J = sum(h{levels})", "∂J/∂x"]
    return "\n".join(lines) + "\n"


def residual_chain_cell(layers: int) -> str:
    """``h0 = x``, ``h_{k} = h_{k-1} + tanh(W_k h_{k-1})``, ``J = sum(h_L)``.

    Every ``h_{k-1}`` feeds two branches, so the gradient shares its
    sub-expressions: the graph stays linear, a printed tree need not.
    """
    lines = ["x : n"] + [f"W{k} : n x n" for k in range(1, layers + 1)]
    lines.append("h0 = x")
    for k in range(1, layers + 1):
        lines.append(f"h{k} = h{k - 1} + tanh(W{k} h{k - 1})")
    lines.append(f"J = sum(h{layers})")
    lines.append("∂J/∂W1, ∂J/∂x")
    return "\n".join(lines) + "\n"


# ====================================================================== sizes
def dag_size(expr) -> int:
    """Distinct nodes of an expression graph."""
    from matcalc_magic.graph import size_of

    return size_of(expr)


def printed_view_size(view) -> int:
    """Printed size of a view as shown: the formula, stopping at names, plus
    the definition of each name it introduces for shared or deep parts."""
    names = view.names
    total = printed_size(view.expr, names)
    for _name, node in view.where:
        others = {k: v for k, v in names.items() if k is not node}
        total += printed_size(node, others)
    return total


def printed_size(expr, labels: dict | None = None) -> int:
    """Nodes a printer writes when it expands the graph into a tree, stopping
    at named nodes (a definition prints as its name).  Computed on the DAG in
    linear time, so it predicts an exponential print without doing it."""
    from matcalc_magic.graph import postorder

    labels = labels or {}
    memo: dict[int, int] = {}
    for node in postorder(expr):
        if node in labels and node is not expr:
            memo[id(node)] = 1
        else:
            memo[id(node)] = 1 + sum(memo[id(a)] for a in node.args)
    return memo[id(expr)]


# ====================================================================== timing
def measure(fn: Callable[[], object], repeats: int = 5, warmup: int = 1,
            setup: Callable[[], object] | None = None) -> dict:
    """Median wall (and CPU) time of ``fn()`` in seconds; ``setup()`` runs
    untimed before each call and its value is passed to ``fn``."""
    for _ in range(warmup):
        arg = setup() if setup else None
        fn(arg) if setup else fn()
    wall, cpu = [], []
    for _ in range(max(1, repeats)):
        arg = setup() if setup else None
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        fn(arg) if setup else fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return summarize(wall, cpu)


def summarize(samples: Iterable[float], cpu: Iterable[float] | None = None) -> dict:
    """Median, min, max of wall-clock samples, and the median CPU time of this
    process (which a busy machine inflates much less than wall time)."""
    s = sorted(samples)
    out = {
        "median": statistics.median(s),
        "min": s[0],
        "max": s[-1],
        "repeats": len(s),
    }
    cpu = list(cpu or ())
    if cpu:
        out["cpu_median"] = statistics.median(cpu)
    return out


class Phases:
    """Named timers within one sample: ``with phases("parse"): ...``."""

    def __init__(self):
        self.samples: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def __call__(self, name: str):
        return _Timer(self, name)

    def add(self, name: str, seconds: float, cpu_seconds: float | None = None) -> None:
        self.samples.setdefault(name, []).append(seconds)
        if cpu_seconds is not None:
            self.cpu.setdefault(name, []).append(cpu_seconds)

    def last(self, name: str) -> tuple[float, float | None]:
        cpu = self.cpu.get(name)
        return self.samples[name][-1], (cpu[-1] if cpu else None)

    def medians(self) -> dict[str, dict]:
        return {k: summarize(v, self.cpu.get(k)) for k, v in self.samples.items()}


class _Timer:
    def __init__(self, owner: Phases, name: str):
        self.owner, self.name = owner, name

    def __enter__(self):
        self.c0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        self.owner.add(self.name, wall, time.process_time() - self.c0)
        return False


def growth_exponent(xs, ys) -> float | None:
    """Least-squares slope of log y against log x: 1 is linear, 2 quadratic."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


# ====================================================================== reporting
def ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e3:.2f} ms"


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 1e6 or (value != 0 and abs(value) < 1e-3):
            return f"{value:.2e}"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, int) and abs(value) >= 10**9:
        return f"{float(value):.2e}"
    return str(value)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` (dicts); ``columns`` is (key, heading)."""
    head = [h for _, h in columns]
    body = [[r.get(k) if isinstance(r.get(k), str) else fmt(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for b in body:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(b, widths)) + " |")
    return "\n".join(out)


def machine_info() -> dict:
    import numpy
    import sympy

    import matcalc_magic

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        affinity = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=5).stdout.strip() or None
    except Exception:  # pragma: no cover - no git
        commit = None
    try:
        import lark

        lark_version = lark.__version__
    except Exception:  # pragma: no cover
        lark_version = None
    return {
        "nproc": affinity or os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": numpy.__version__,
        "sympy": sympy.__version__,
        "lark": lark_version,
        "matcalc_magic": matcalc_magic.__version__,
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "loadavg": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    """1-, 5- and 15-minute load averages: how busy the machine was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on Unix
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_line(info: dict) -> str:
    return (f"{info['nproc']} CPU(s) available ({info['cpu'] or 'unknown CPU'}), Python {info['python']}, "
            f"NumPy {info['numpy']}, SymPy {info['sympy']}, lark {info['lark']}, "
            f"matcalc_magic {info['matcalc_magic']}" + (f" @ {info['commit']}" if info.get("commit") else "")
            + (f"; load average {info['loadavg'][0]:g} at start" if info.get("loadavg") else ""))


def emit(text: str, report: dict, json_path: str | None) -> None:
    """Print a report, and write it as JSON too when asked."""
    print(text)
    if json_path:
        write_json(json_path, report)
        print(f"\nJSON written to {json_path}")


def write_json(path: str | os.PathLike, report: dict) -> None:
    """Strict JSON: non-finite numbers become null."""
    text = json.dumps(_finite(report), indent=2, default=_json_default, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n")


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj):
    try:
        import numpy

        if isinstance(obj, numpy.generic):
            return obj.item()
    except Exception:  # pragma: no cover
        pass
    return str(obj)


def ensure_importable() -> None:
    """Let ``python bench/x.py`` import its neighbours and the package from a checkout."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
