"""The same derivatives through SymPy's matrix expressions, checked numerically.

For each case the battery builds the function with ``MatrixSymbol`` (sizes
symbolic, as a user would), calls ``.diff``, prints the answer with
``sympy.latex``, and verifies it: sizes and random matrices are substituted,
the result is made explicit (``as_explicit``) and compared with central
finite differences of a plain NumPy implementation of the function.  The
same is done for matcalc_magic (``derive`` + the shape view's LaTeX and text;
the view's NumPy value is compared with the same finite differences).

A scalar written as a 1×1 matrix expression can be differentiated in more
than one spelling; the battery tries the ones a user would: the 1×1 matrix
itself, its entry ``[0, 0]``, and ``Trace(·)``.

Statuses: ``ok`` (matches finite differences), ``zero`` (SymPy returns 0 but
the gradient is not 0), ``wrong`` (a different value or shape), ``error``
(an exception), ``unsupported`` (returned unevaluated, or cannot be written),
``timeout``.

Run ``python bench/bench_sympy.py [--quick] [--json FILE]``.  SymPy's cache
is cleared before every timed call (of either library), so repeats do not
just replay a cached answer.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as C  # noqa: E402

SIZES = {"n": 3, "m": 4, "k": 5, "p": 2}  # distinct, so a transpose shows
FD_STEP = 1e-6
TOLERANCE = 1e-5  # max |answer − finite differences| / max(1, max |finite differences|)
TIMEOUT = 60.0  # seconds for one SymPy diff
BUDGET = 20.0  # seconds of repeats for one measurement (at least one timed sample is kept)
STATUSES = ("ok", "zero", "wrong", "error", "unsupported", "timeout")


# ====================================================================== cases
@dataclass
class Case:
    key: str
    title: str
    cell: str  # matcalc_magic cell with exactly one request
    wrt: str
    f: Callable[[dict], float]  # the function in NumPy, for finite differences
    data: Callable[[np.random.Generator, dict], dict]  # name -> 2-D array
    spellings: dict = field(default_factory=dict)  # label -> builder(S) -> (expr, wrt symbol)


def _vec(rng, r):
    return rng.standard_normal((r, 1))


def _mat(rng, r, c):
    return rng.standard_normal((r, c))


def sympy_symbols():
    """Symbolic sizes and the matrix symbols every case draws from."""
    import sympy as sp
    from sympy import MatrixSymbol

    n, m, k, p = sp.symbols("n m k p", integer=True, positive=True)
    S = {"n": n, "m": m, "k": k, "p": p}
    S["x"] = MatrixSymbol("x", n, 1)
    S["A"] = MatrixSymbol("A", n, n)
    S["X"] = MatrixSymbol("X", n, n)
    return S


def scalar_spellings(build: Callable) -> dict:
    """The three ways to hand SymPy a scalar built as a 1×1 matrix expression."""
    import sympy as sp

    def whole(S):
        return build(S)

    def entry(S):
        e, w = build(S)
        return e[0, 0], w

    def trace(S):
        e, w = build(S)
        return sp.Trace(e), w

    return {"1×1 matrix": whole, "[0,0] entry": entry, "Trace(·)": trace}


def _relu(a):
    return np.maximum(a, 0.0)


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def cs224n_f(v):
    z = v["W"] @ v["x"] + v["b1"]
    h = _relu(z)
    th = v["U"] @ h + v["b2"]
    return float(-(v["y"] * np.log(_softmax(th))).sum())


def cs224n_data(rng, s):
    y = np.zeros((s["k"], 1))
    y[rng.integers(s["k"]), 0] = 1.0
    return {"x": _vec(rng, s["n"]), "W": _mat(rng, s["m"], s["n"]), "b1": _vec(rng, s["m"]),
            "U": _mat(rng, s["k"], s["m"]), "b2": _vec(rng, s["k"]), "y": y}


def cs224n_sympy(S, form: str = "logsumexp"):
    """J = CE(y, softmax(U relu(W x + b1) + b2)) as a 1×1 matrix expression.

    ``logsumexp``: −yᵀθ + log(𝟏ᵀ exp θ) (equal for a one-hot y);
    ``literal``: −yᵀ log(exp θ (𝟏ᵀ exp θ)⁻¹), softmax as written.
    """
    import sympy as sp
    from sympy import Inverse, Lambda, Max, MatrixSymbol, OneMatrix

    n, m, k = S["n"], S["m"], S["k"]
    x = MatrixSymbol("x", n, 1)
    W = MatrixSymbol("W", m, n)
    b1 = MatrixSymbol("b1", m, 1)
    U = MatrixSymbol("U", k, m)
    b2 = MatrixSymbol("b2", k, 1)
    y = MatrixSymbol("y", k, 1)
    t = sp.Symbol("t", real=True)
    h = (W * x + b1).applyfunc(Lambda(t, Max(0, t)))
    th = U * h + b2
    e = th.applyfunc(sp.exp)
    if form == "logsumexp":
        J = -(y.T * th) + (OneMatrix(1, k) * e).applyfunc(sp.log)
    else:
        J = -(y.T * (e * Inverse(OneMatrix(1, k) * e)).applyfunc(sp.log))
    return J, {"x": x, "W": W, "b1": b1, "U": U, "b2": b2, "y": y}


def tanh_chain_f(layers):
    def f(v):
        h = v["x"]
        for i in range(1, layers + 1):
            h = np.tanh(v[f"W{i}"] @ h)
        return float(h.sum())
    return f


def tanh_chain_data(layers):
    def data(rng, s):
        out = {"x": _vec(rng, s["n"])}
        for i in range(1, layers + 1):
            out[f"W{i}"] = _mat(rng, s["n"], s["n"]) / np.sqrt(s["n"])
        return out
    return data


def tanh_chain_sympy(S, layers):
    import sympy as sp
    from sympy import MatrixSymbol, OneMatrix

    n = S["n"]
    x = MatrixSymbol("x", n, 1)
    Ws = {f"W{i}": MatrixSymbol(f"W{i}", n, n) for i in range(1, layers + 1)}
    h = x
    for i in range(1, layers + 1):
        h = (Ws[f"W{i}"] * h).applyfunc(sp.tanh)
    return OneMatrix(1, n) * h, {"x": x, **Ws}


def _pick(make: Callable, wrt: str, *args) -> Callable:
    """A builder ``S -> (expr, wrt symbol)`` from ``make(S, *args) -> (expr, symbols)``,
    building the expression once."""
    def build(S):
        expr, symbols = make(S, *args)
        return expr, symbols[wrt]
    return build


def _chain_cell(layers, wrt):
    return C.tanh_chain_cell(layers).replace("∂J/∂W1, ∂J/∂x", f"∂J/∂{wrt}")


def build_cases(chain_layers: int = 5) -> list[Case]:
    import sympy as sp
    from sympy import Determinant, MatrixSymbol, Trace

    cases: list[Case] = []

    # ∂(xᵀ A x)/∂x
    def xax(S):
        return S["x"].T * S["A"] * S["x"], S["x"]
    cases.append(Case(
        "xAx", "∂(xᵀAx)/∂x", "x : n\nA : n x n\n∂(x^T A x)/∂x", "x",
        lambda v: float((v["x"].T @ v["A"] @ v["x"])[0, 0]),
        lambda rng, s: {"x": _vec(rng, s["n"]), "A": _mat(rng, s["n"], s["n"])},
        scalar_spellings(xax)))

    # ∂ tr(A X B)/∂X, rectangular so transposes show
    def tr_axb(S):
        A = MatrixSymbol("A", S["p"], S["n"])
        X = MatrixSymbol("X", S["n"], S["m"])
        B = MatrixSymbol("B", S["m"], S["p"])
        return Trace(A * X * B), X
    cases.append(Case(
        "trAXB", "∂ tr(AXB)/∂X", "A : p x n\nX : n x m\nB : m x p\n∂tr(A X B)/∂X", "X",
        lambda v: float(np.trace(v["A"] @ v["X"] @ v["B"])),
        lambda rng, s: {"A": _mat(rng, s["p"], s["n"]), "X": _mat(rng, s["n"], s["m"]),
                        "B": _mat(rng, s["m"], s["p"])},
        {"scalar": tr_axb}))

    def square_data(rng, s):
        return {"X": 0.3 * _mat(rng, s["n"], s["n"]) + np.eye(s["n"])}

    cases.append(Case(
        "det", "∂ det X/∂X", "X : n x n\n∂det(X)/∂X", "X",
        lambda v: float(np.linalg.det(v["X"])), square_data,
        {"scalar": lambda S: (Determinant(S["X"]), S["X"])}))

    cases.append(Case(
        "logdet", "∂ log det X/∂X", "X : n x n, invertible\n∂(log det(X))/∂X", "X",
        lambda v: float(np.log(np.linalg.det(v["X"]))), square_data,
        {"scalar": lambda S: (sp.log(Determinant(S["X"])), S["X"])}))

    # ∂‖W x − y‖²/∂W and /∂x
    def ls_parts(S):
        W = MatrixSymbol("W", S["m"], S["n"])
        y = MatrixSymbol("y", S["m"], 1)
        r = W * S["x"] - y
        return r.T * r, {"W": W, "x": S["x"], "y": y}

    def ls_f(v):
        r = v["W"] @ v["x"] - v["y"]
        return float((r * r).sum())

    def ls_data(rng, s):
        return {"x": _vec(rng, s["n"]), "W": _mat(rng, s["m"], s["n"]), "y": _vec(rng, s["m"])}

    for wrt in ("W", "x"):
        cases.append(Case(
            f"ls_{wrt}", f"∂‖Wx−y‖²/∂{wrt}", f"x : n\nW : m x n\ny : m\nJ = ‖W x - y‖²\n∂J/∂{wrt}", wrt,
            ls_f, ls_data, scalar_spellings(_pick(ls_parts, wrt))))

    # the CS224n network, one case per request
    base = C.CS224N_CELL.rsplit("\n∂J/∂U", 1)[0]
    for wrt in C.CS224N_REQUESTS:
        spell = scalar_spellings(_pick(cs224n_sympy, wrt))
        literal = _pick(cs224n_sympy, wrt, "literal")
        spell["Trace(·), softmax as written"] = lambda S, literal=literal: (
            lambda expr, w: (sp.Trace(expr), w))(*literal(S))
        cases.append(Case(
            f"cs224n_{wrt}", f"CS224n ∂J/∂{wrt}", f"{base}\n∂J/∂{wrt}\n", wrt,
            cs224n_f, cs224n_data, spell))

    # an L-layer tanh chain
    L = chain_layers
    for wrt in ("W1", "x"):
        cases.append(Case(
            f"tanh{L}_{wrt}", f"{L}-layer tanh chain ∂J/∂{wrt}", _chain_cell(L, wrt), wrt,
            tanh_chain_f(L), tanh_chain_data(L),
            scalar_spellings(_pick(tanh_chain_sympy, wrt, L))))
    return cases


# ====================================================================== numerics
def finite_differences(f, values: dict, wrt: str, h: float = FD_STEP) -> np.ndarray:
    """∂f/∂values[wrt] by central differences, in the shape of values[wrt]."""
    x0 = values[wrt]
    g = np.zeros_like(x0, dtype=float)
    for idx in np.ndindex(x0.shape):
        plus = dict(values)
        minus = dict(values)
        xp = x0.astype(float).copy()
        xm = x0.astype(float).copy()
        xp[idx] += h
        xm[idx] -= h
        plus[wrt], minus[wrt] = xp, xm
        g[idx] = (f(plus) - f(minus)) / (2 * h)
    return g


def compare(answer: np.ndarray, expected: np.ndarray) -> tuple[str, float, str]:
    """(status, error, note) of an answer against the finite-difference gradient."""
    scale = max(1.0, float(np.abs(expected).max()))
    a = np.squeeze(np.asarray(answer, dtype=float))
    e = np.squeeze(expected)
    if a.shape != e.shape:
        return "wrong", float("nan"), f"shape {np.shape(answer)}, expected {expected.shape}"
    err = float(np.abs(a - e).max()) / scale
    if err <= TOLERANCE:
        shape = tuple(np.shape(answer))
        if shape != expected.shape:
            return "ok", err, f"as an array of shape {'×'.join(map(str, shape))}"
        return "ok", err, ""
    if not np.abs(e).max():
        return "wrong", err, ""
    if float(np.abs(a).max()) <= TOLERANCE * scale:
        return "zero", err, "a non-trivial expression that evaluates to 0"
    if a.ndim == 2 and a.shape == a.T.shape and float(np.abs(a.T - e).max()) / scale <= TOLERANCE:
        return "wrong", err, "the transpose of the gradient"
    return "wrong", err, ""


def sympy_value(result, sizes: dict, values: dict) -> np.ndarray:
    """Substitute sizes and matrices into a SymPy matrix or array expression."""
    import sympy as sp
    from sympy import MatrixSymbol

    S = sympy_symbols()
    concrete = result.subs({S[k]: v for k, v in sizes.items()})
    repl = {}
    for sym in concrete.atoms(MatrixSymbol):
        if sym.name in values:
            repl[sym] = sp.ImmutableMatrix(values[sym.name])
    substituted = concrete.xreplace(repl)
    try:
        # node by node: fast, and it also evaluates what as_explicit leaves
        # symbolic (a trace of explicit matrices, an inverse of a 1×1)
        return _to_array(_bottom_up(substituted, {}))
    except (TypeError, ValueError, AttributeError):
        return _to_array(_explicit(substituted))


def _explicit(e):
    if hasattr(e, "as_explicit"):
        e = e.as_explicit()
    return e.doit() if hasattr(e, "doit") else e


def _bottom_up(e, memo: dict):
    """Rebuild ``e`` from explicit children, making each matrix node explicit."""
    import sympy as sp
    from sympy.matrices.expressions.matexpr import MatrixExpr

    if e in memo:
        return memo[e]
    if isinstance(e, sp.MatrixBase) or not e.args or isinstance(e, (sp.Lambda, sp.Tuple)):
        out = e
    else:
        out = e.func(*(_bottom_up(a, memo) for a in e.args))
        if isinstance(out, MatrixExpr) or (hasattr(out, "as_explicit")
                                           and not isinstance(out, (sp.MatrixBase, sp.NDimArray))):
            out = out.doit()
            if hasattr(out, "as_explicit") and not isinstance(out, (sp.MatrixBase, sp.NDimArray)):
                out = out.as_explicit()
    memo[e] = out
    return out


def _to_array(explicit) -> np.ndarray:
    import sympy as sp

    if isinstance(explicit, (sp.MatrixBase, sp.NDimArray)):
        shape = explicit.shape
        entries = list(explicit) if isinstance(explicit, sp.MatrixBase) else sp.flatten(explicit.tolist())
        return np.array([_number(z) for z in entries], dtype=float).reshape(shape)
    return np.array(_number(explicit))


def _number(z) -> float:
    """A float from an entry, evaluating what is left inside it (a trace of
    explicit matrices, a 1×1 matrix) a few times before giving up."""
    import sympy as sp

    for _ in range(4):
        if isinstance(z, sp.MatrixBase) and z.shape == (1, 1):
            z = z[0, 0]
        try:
            return float(sp.N(z))
        except (TypeError, ValueError):
            z = z.doit()
    return float(sp.N(z))


def is_zero_result(result) -> bool:
    import sympy as sp
    from sympy.matrices.expressions.special import ZeroMatrix

    if isinstance(result, ZeroMatrix) or result == 0:
        return True
    try:
        from sympy.tensor.array.expressions import ZeroArray

        if isinstance(result, ZeroArray):
            return True
    except ImportError:  # pragma: no cover - older SymPy
        pass
    return bool(getattr(result, "is_ZeroMatrix", False)) or (isinstance(result, sp.Expr) and result.is_zero is True)


def is_unevaluated(result) -> bool:
    import sympy as sp

    if isinstance(result, sp.Derivative):
        return True
    try:
        from sympy.tensor.array.array_derivatives import ArrayDerivative

        if isinstance(result, ArrayDerivative):
            return True
    except ImportError:  # pragma: no cover
        pass
    return bool(getattr(result, "has", lambda *a: False)(sp.Derivative))


# ====================================================================== timing
class BenchTimeout(BaseException):
    """Raised by the alarm; a BaseException so SymPy's ``except Exception`` can't swallow it."""


@contextmanager
def time_limit(seconds: float | None):
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise BenchTimeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _clear_sympy_cache() -> None:
    from sympy.core.cache import clear_cache

    clear_cache()


def timed_runs(fn, repeats: int, warmup: int, timeout: float | None, budget: float = BUDGET):
    """Median of fn() with SymPy's cache cleared before each call; returns
    (summary, last value, exception or None).  Stops at the first failure,
    and after ``budget`` seconds once one timed sample exists."""
    samples, cpu, value = [], [], None
    started = time.perf_counter()
    for i in range(warmup + max(1, repeats)):
        if samples and time.perf_counter() - started > budget:
            break
        _clear_sympy_cache()
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            with time_limit(timeout):
                value = fn()
        except BenchTimeout as e:
            return C.summarize([time.perf_counter() - t0], [time.process_time() - c0]), None, e
        except Exception as e:  # SymPy failing is a result
            return C.summarize([time.perf_counter() - t0], [time.process_time() - c0]), None, e
        if i >= warmup:
            samples.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return C.summarize(samples, cpu), value, None


# ====================================================================== running
def run_sympy(case: Case, label: str, values: dict, expected: np.ndarray, repeats: int, warmup: int,
              timeout: float | None, sizes: dict = SIZES) -> dict:
    """Time SymPy on one spelling of a case and classify its answer."""
    import sympy as sp

    builder = case.spellings[label]

    def go():
        S = sympy_symbols()
        expr, wrt = builder(S)
        result = expr.diff(wrt)
        return result, sp.latex(result)

    timing, value, exc = timed_runs(go, repeats, warmup, timeout)
    row = {"spelling": label, "time": timing["median"], "timing": timing}  # time to fail, on failure
    if exc is not None:
        if isinstance(exc, BenchTimeout):
            row.update(status="timeout", note=f"no answer within {timeout:g} s")
        else:
            row.update(status="error", note=f"{type(exc).__name__}: {_first_line(exc)}")
        return row
    result, _latex = value
    row["answer"] = _short(result)
    if is_unevaluated(result):
        row.update(status="unsupported", note="returned the derivative unevaluated")
        return row
    if is_zero_result(result):
        status = "zero" if np.abs(expected).max() > TOLERANCE else "ok"
        row.update(status=status, note="returned 0" if status == "zero" else "")
        return row
    try:
        with time_limit(timeout):
            got = sympy_value(result, sizes, values)
    except BenchTimeout:
        row.update(status="timeout", note="evaluating the answer timed out")
        return row
    except Exception as e:
        from sympy.matrices.exceptions import ShapeError

        if isinstance(e, ShapeError):  # the answer combines terms of different shapes
            row.update(status="wrong", note=f"ill-formed answer: {_first_line(e)} once sizes are substituted")
        else:
            row.update(status="error", note=f"the answer does not evaluate to numbers ({type(e).__name__}: "
                                            f"{_first_line(e)})")
        return row
    status, err, note = compare(got, expected)
    row.update(status=status, error=err, note=note)
    return row


def run_ours(case: Case, values: dict, expected: np.ndarray, repeats: int, warmup: int,
             checks: bool = True) -> dict:
    import matcalc_magic as mm

    def go():
        res = mm.derive(case.cell)
        v = res[0].view("shape")
        return res, v.latex, v.text

    timing, value, exc = timed_runs(go, repeats, warmup, None)
    if exc is not None:
        return {"status": "error", "time": None, "note": f"{type(exc).__name__}: {_first_line(exc)}"}
    res, _latex, text = value
    got = res[0].view("shape").evaluate(values)
    status, err, note = compare(got, expected)
    row = {"status": status, "time": timing["median"], "timing": timing, "answer": text, "error": err,
           "note": note}
    if checks:
        row["check"] = bool(res[0].check(points=2))
    return row


def run(quick: bool = False, cases: list[str] | None = None, repeats: int | None = None,
        timeout: float = TIMEOUT, seed: int = 0, chain_layers: int = 5, checks: bool = True,
        warmup: int = 1) -> dict:
    repeats = repeats or (1 if quick else 5)
    report = {"machine": C.machine_info(), "quick": quick, "sizes": dict(SIZES), "tolerance": TOLERANCE,
              "timeout": timeout, "cases": []}
    rng = np.random.default_rng(seed)
    all_cases = build_cases(chain_layers)
    unknown = set(cases or ()) - {c.key for c in all_cases}
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(sorted(unknown))}; cases: "
                         + ", ".join(c.key for c in all_cases))
    for case in all_cases:
        if cases and case.key not in cases:
            continue
        values = case.data(rng, SIZES)
        expected = finite_differences(case.f, values, case.wrt)
        ours = run_ours(case, values, expected, repeats, warmup, checks)
        entry = {"key": case.key, "title": case.title, "ours": ours, "sympy": []}
        for label in case.spellings:
            row = run_sympy(case, label, values, expected, repeats, warmup, timeout)
            if row.get("time") and ours.get("time"):
                row["ratio"] = row["time"] / ours["time"]
                row["ratio_cpu"] = row["timing"]["cpu_median"] / ours["timing"]["cpu_median"]
            entry["sympy"].append(row)
        entry["sympy_ok"] = any(r["status"] == "ok" for r in entry["sympy"])
        report["cases"].append(entry)
    report["summary"] = summarize(report)
    return report


def summarize(report: dict) -> dict:
    counts = {s: 0 for s in STATUSES}
    ratios, ratios_cpu = [], []
    for case in report["cases"]:
        for row in case["sympy"]:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            if row["status"] == "ok" and row.get("ratio"):
                ratios.append(row["ratio"])
                ratios_cpu.append(row["ratio_cpu"])
    return {
        "cases": len(report["cases"]),
        "ours_ok": sum(c["ours"]["status"] == "ok" for c in report["cases"]),
        "sympy_any_spelling_ok": sum(c["sympy_ok"] for c in report["cases"]),
        "sympy_statuses": counts,
        "median_ratio_when_sympy_ok": float(np.median(ratios)) if ratios else None,
        "median_cpu_ratio_when_sympy_ok": float(np.median(ratios_cpu)) if ratios_cpu else None,
        "ratio_range_when_sympy_ok": [float(min(ratios)), float(max(ratios))] if ratios else None,
    }


def _ratio(row: dict, key: str) -> str:
    value = row.get(key)
    if not value:
        return "—"
    return f"{value:.1f}×" if row["status"] == "ok" else f"({value:.1f}×)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "")[:160]


def _short(result, limit: int = 90) -> str:
    text = str(result)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ====================================================================== report
def format_report(report: dict) -> str:
    out = ["# SymPy matrix expressions vs matcalc_magic", "", C.machine_line(report["machine"]), "",
           f"Verification sizes {', '.join(f'{k} = {v}' for k, v in report['sizes'].items())}; "
           f"tolerance {report['tolerance']:g} (relative to max(1, |gradient|)); "
           f"SymPy timeout {report['timeout']:g} s per diff.", "",
           "Times: build + `.diff` + `sympy.latex` for SymPy; `derive` + shape-view LaTeX and text for "
           "matcalc_magic; medians, SymPy's cache cleared before each call.  On failure the SymPy time is "
           "the time to fail, and the ratio is in parentheses.", ""]
    rows = []
    for case in report["cases"]:
        ours = case["ours"]
        for i, s in enumerate(case["sympy"]):
            rows.append({
                "case": case["title"] if i == 0 else "",
                "spelling": s["spelling"],
                "status": s["status"] + (f" ({s['note']})" if s.get("note") else ""),
                "sympy": C.ms(s.get("time")),
                "ours": (C.ms(ours.get("time")) + (" ✓" if ours["status"] == "ok" else f" {ours['status']}"))
                if i == 0 else "",
                "ratio": _ratio(s, "ratio"),
                "ratio_cpu": _ratio(s, "ratio_cpu"),
            })
    out.append(C.table(rows, [("case", "case"), ("spelling", "SymPy spelling"), ("status", "SymPy status"),
                              ("sympy", "SymPy time"), ("ours", "matcalc_magic"), ("ratio", "SymPy / ours"),
                              ("ratio_cpu", "same, CPU time")]))
    s = report["summary"]
    out += ["", f"- matcalc_magic: {s['ours_ok']}/{s['cases']} cases agree with finite differences",
            f"- SymPy: {s['sympy_any_spelling_ok']}/{s['cases']} cases right in at least one spelling; "
            "statuses over all spellings: " + ", ".join(f"{k} {v}" for k, v in s["sympy_statuses"].items() if v)]
    if s["median_ratio_when_sympy_ok"]:
        lo, hi = s["ratio_range_when_sympy_ok"]
        out.append(f"- where SymPy is right, it takes {s['median_ratio_when_sympy_ok']:.1f}× our wall time "
                   f"(median ratio; {lo:.1f}× – {hi:.1f}×), {s['median_cpu_ratio_when_sympy_ok']:.1f}× our CPU time")
    out += ["", "matcalc_magic's answers:", "", "```"]
    out += [c["ours"].get("answer", c["ours"].get("note", "")) for c in report["cases"]]
    out += ["```"]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one timed repeat per measurement")
    ap.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    ap.add_argument("--cases", help="comma-separated case keys (default: all)")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds allowed for one SymPy diff")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",")] if args.cases else None
    report = run(args.quick, cases, args.repeats, args.timeout)
    C.emit(format_report(report), report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
