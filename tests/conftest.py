"""Shared helpers for the engine tests: random data and finite differences.

Everything numeric here is plain NumPy and deliberately independent of the
package: the forward functions are written out in NumPy by each test, the
finite differences and the meaning of each layout are restated from the API
contract, and nothing is imported from ``matcalc_magic.calculus`` or
``matcalc_magic.verify``.  The only thing taken from the package is the
array each view evaluates to.

The layout contract, for Y (p×q) = f(X (r×s)), with T[a, b, c, d] = ∂Y_ab/∂X_cd:

* gradient (Y scalar): shape/denominator G (r×s), numerator Gᵀ, index G
  with its size-1 axes dropped, vec vec(G)ᵀ (1×rs);
* by a scalar X: numerator/shape Y′ (p×q), denominator Y′ᵀ, index Y′ without
  size-1 axes, vec vec(Y′) (pq×1);
* vector by vector: numerator/shape/index/vec the Jacobian J (len y × len x),
  denominator Jᵀ;
* Hessian: n×n for a vector X, the vec Hessian (rs×rs) for a matrix X in every
  layout but index, which has axes (r, s, r, s) without the size-1 ones;
* anything else (a tensor): numerator/shape/index the output's index axes,
  then the variable's; denominator the variable's first; vec ∂vec Y/∂(vec X)ᵀ.
"""

from __future__ import annotations

import re
import signal
from contextlib import contextmanager

import numpy as np
import pytest

LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")
SYMMETRIC = {"symmetric", "spd", "psd", "sym", "posdef", "pd"}


# ====================================================================== NumPy reference functions
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0.0)


def softplus(x):
    return np.log1p(np.exp(x))


def logsumexp(x, axis=0):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def softmax(x, axis=0):
    return np.exp(x - logsumexp(x, axis))


def ce(y, p):
    """Cross-entropy −Σ y ⊙ log p, summed over everything."""
    return -np.sum(y * np.log(p))


# ====================================================================== declarations and data
_DECL = re.compile(r"^\s*([^:=#∂]+?)\s*:\s*([^#]+?)\s*(?:#.*)?$")


def parse_decls(cell: str) -> dict:
    """``name : dims[, props]`` lines → {name: (dims, props)}; dims are strings."""
    out = {}
    for stmt in re.split(r"[;\n]", cell):
        m = _DECL.match(stmt)
        if not m or "=" in stmt:
            continue
        names = [n.strip() for n in m.group(1).split(",")]
        shape = re.match(r"\s*\(([^()]*)\)\s*,?", m.group(2))  # NumPy's (M,) or (N, M)
        rest = m.group(2)[shape.end():] if shape else m.group(2)
        parts = [p.strip() for p in rest.split(",")]
        spec, props = parts[0], {p.lower() for p in parts[1:] if p.strip()}
        if shape:
            numpy_dims = [d.strip() for d in shape.group(1).split(",") if d.strip()]
            props = {p.lower() for p in parts if p}
            dims = ("1", numpy_dims[0]) if len(numpy_dims) == 1 else tuple(numpy_dims)  # 1-D: a row
        elif spec == "scalar":
            dims = ("1", "1")
        else:
            dims = tuple(d.strip() for d in re.split(r"\s+(?:x|×)\s+", spec))
            if len(dims) == 1:
                dims = (dims[0], "1")
        for n in names:
            out[n] = (dims, props)
    return out


def size_symbols(decls: dict) -> list[str]:
    found = set()
    for dims, _ in decls.values():
        for d in dims:
            found.update(re.findall(r"[^\W\d]\w*", d))
    return sorted(found)


def draw_sizes(decls: dict, rng, low: int = 3, high: int = 5) -> dict:
    """Distinct sizes ≥ 3 per symbol, so that a size of 1 is always a declared 1
    (also after slicing one row off) and a missing transpose changes the shape."""
    symbols = size_symbols(decls)
    pool = list(range(low, max(high, low + len(symbols) - 1) + 1))
    rng.shuffle(pool)
    return dict(zip(symbols, pool))


def concrete(dim: str, sizes: dict) -> int:
    return int(eval(dim, {"__builtins__": {}}, dict(sizes)))


def draw_value(dims, props, sizes, rng) -> np.ndarray:
    r, c = (concrete(d, sizes) for d in dims)
    if props & {"spd", "posdef", "pd"}:
        m = rng.standard_normal((r, r))
        return m @ m.T / r + np.eye(r)
    if props & {"onehot", "one-hot"}:
        out = np.zeros((r, c))
        if r == 1 or c == 1:
            out.flat[rng.integers(out.size)] = 1.0
        else:
            out[rng.integers(r, size=c), np.arange(c)] = 1.0
        return out
    if "probability" in props:
        p = rng.uniform(0.1, 1.0, (r, c))
        return p / p.sum(axis=0, keepdims=True) if c > 1 and r > 1 else p / p.sum()
    if "positive" in props:
        return rng.uniform(0.5, 1.5, (r, c))
    base = rng.standard_normal((r, c))
    if props & SYMMETRIC:
        base = (base + base.T) / 2
    if "invertible" in props:
        base = base + r * np.eye(r)
    return base


def draw_values(decls: dict, rng, sizes: dict | None = None) -> tuple[dict, dict]:
    sizes = sizes or draw_sizes(decls, rng)
    return {n: draw_value(d, p, sizes, rng) for n, (d, p) in decls.items()}, sizes


# ====================================================================== finite differences
def _as2d(y) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    return y.reshape(1, 1) if y.ndim == 0 else y.reshape(-1, 1) if y.ndim == 1 else y


def directions(shape, symmetric: bool) -> list[np.ndarray]:
    """Perturbations a declaration allows: the basis, or E_ab + E_ba if symmetric."""
    r, c = shape
    out = []
    for j in range(c):
        for i in range(r):
            if symmetric and i > j:
                continue
            e = np.zeros((r, c))
            e[i, j] = 1.0
            if symmetric:
                e[j, i] = 1.0
            out.append(e)
    return out


def fd_directional(f, values, wrt, e, h=1e-6) -> np.ndarray:
    def at(t):
        v = dict(values)
        v[wrt] = values[wrt] + t * e
        return _as2d(f(v))

    return (at(h) - at(-h)) / (2 * h)


def fd_second(f, values, wrt, e1, e2, h=1e-4) -> float:
    def at(a, b):
        v = dict(values)
        v[wrt] = values[wrt] + a * e1 + b * e2
        return float(_as2d(f(v))[0, 0])

    return (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)


# ====================================================================== the layout contract, restated
def expected_kind(out_shape, var_shape, order=1) -> str:
    def vector(s):
        return s[0] == 1 or s[1] == 1

    if order == 2:
        return "hessian"
    if tuple(out_shape) == (1, 1):
        return "gradient"
    if tuple(var_shape) == (1, 1):
        return "jacobian"
    if vector(out_shape) and vector(var_shape):
        return "jacobian"
    return "tensor"


def _drop_ones(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


def layout_shape(kind, layout, out_shape, var_shape) -> tuple:
    """The concrete shape each layout must evaluate to."""
    (p, q), (r, s) = out_shape, var_shape
    if kind == "gradient":
        return {"numerator": (s, r), "vec": (1, r * s), "index": _drop_ones((r, s))}.get(layout, (r, s))
    if kind == "jacobian" and (r, s) == (1, 1):
        return {"denominator": (q, p), "vec": (p * q, 1), "index": _drop_ones((p, q))}.get(layout, (p, q))
    if kind == "jacobian":
        return (r * s, p * q) if layout == "denominator" else (p * q, r * s)
    if kind == "hessian":
        return _drop_ones((r, s, r, s)) if layout == "index" else (r * s, r * s)
    if layout == "vec":
        return (p * q, r * s)
    if layout == "denominator":
        return _drop_ones((r, s)) + _drop_ones((p, q))
    return _drop_ones((p, q)) + _drop_ones((r, s))


def to_full(kind, layout, arr, out_shape, var_shape) -> np.ndarray:
    """A layout's array back to T[a, b, c, d] = ∂Y_ab/∂X_cd (∂²J/∂X_ab∂X_cd)."""
    (p, q), (r, s) = out_shape, var_shape
    arr = np.asarray(arr, dtype=float)
    if kind == "gradient":
        g = {"numerator": arr.T, "vec": arr.reshape((r, s), order="F")}.get(layout, arr.reshape(r, s))
        return g.reshape(1, 1, r, s)
    if kind == "jacobian" and (r, s) == (1, 1):
        y = {"denominator": arr.T, "vec": arr.reshape((p, q), order="F")}.get(layout, arr.reshape(p, q))
        return y.reshape(p, q, 1, 1)
    if kind == "jacobian":
        j = arr.T if layout == "denominator" else arr.reshape(p * q, r * s)
        return j.reshape((p, q, r, s), order="F")
    if kind == "hessian":
        if layout == "index":
            return arr.reshape(r, s, r, s)
        return arr.reshape((r, s, r, s), order="F")
    if layout == "vec":
        return arr.reshape((p, q, r, s), order="F")
    if layout == "denominator":
        n_var = len(_drop_ones((r, s)))
        arr = np.transpose(arr, list(range(n_var, arr.ndim)) + list(range(n_var)))
    return arr.reshape(p, q, r, s)


def fd_compare(result, f, values, wrt, symmetric=False, layouts=LAYOUTS, rtol=None, sizes=None):
    """Evaluate every layout of ``result`` at ``values`` and compare it with
    finite differences of the NumPy function ``f`` (dict of arrays → array).
    ``sizes`` (size name → int) are passed to ``evaluate`` too.

    Returns ({layout: relative max error}, max |finite difference|); raises
    AssertionError on a wrong kind, a wrong shape or a wrong value."""
    order = result.request.order if hasattr(result, "request") else 1
    with np.errstate(all="ignore"):
        y0 = _as2d(f(values))
    assert np.all(np.isfinite(y0)), "the test function is not finite at the random point"
    out_shape, var_shape = y0.shape, values[wrt].shape
    kind = expected_kind(out_shape, var_shape, order)
    assert result.kind == kind, f"kind {result.kind!r}, expected {kind!r}"
    dirs = directions(var_shape, symmetric)
    if kind == "hessian":
        fd = np.array([[fd_second(f, values, wrt, a, b) for b in dirs] for a in dirs])
        tol = 1e-4 if rtol is None else rtol
    else:
        fd = np.stack([fd_directional(f, values, wrt, e) for e in dirs])
        tol = 1e-6 if rtol is None else rtol
    scale = max(1.0, float(np.max(np.abs(fd))))
    errors = {}
    for layout in layouts:
        arr = np.asarray(result.view(layout).evaluate({**values, **(sizes or {})}), dtype=float)
        want = layout_shape(kind, layout, out_shape, var_shape)
        assert arr.shape == want, f"{layout}: shape {arr.shape}, expected {want}"
        t = to_full(kind, layout, arr, out_shape, var_shape)
        if kind == "hessian":
            h = t.reshape(var_shape + var_shape)
            sym = np.array([[np.sum(a * np.tensordot(h, b, axes=([2, 3], [0, 1]))) for b in dirs] for a in dirs])
        else:
            sym = np.stack([np.tensordot(t, e, axes=([2, 3], [0, 1])) for e in dirs])
        errors[layout] = float(np.max(np.abs(sym - fd))) / scale if fd.size else 0.0
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, f"differs from finite differences: {bad} (tolerance {tol})"
    return errors, float(np.max(np.abs(fd))) if fd.size else 0.0


def check_numerically(
    result, f, cell, wrt, seed=0, points=2, fixed=None, check_report=True, layouts=LAYOUTS, allow_zero=False
):
    """``fd_compare`` at ``points`` random points drawn from the cell's
    declarations (plus ``fixed`` values), and the engine's own ``check()``.
    Unless ``allow_zero``, some point must have a nonzero derivative, so that
    a check cannot pass vacuously (a ReLU that is off everywhere, say)."""
    decls = parse_decls(cell)
    symmetric = bool(decls.get(wrt, ((), set()))[1] & SYMMETRIC)
    # sizes that no array shows on its own (θ : n + 1) are passed by name
    compound = any(not re.fullmatch(r"\w+", d) for dims, _ in decls.values() for d in dims)
    rng = np.random.default_rng(seed)
    largest = 0.0
    for _ in range(points):
        values, sizes = draw_values(decls, rng)
        if fixed:
            values.update(fixed(values, sizes) if callable(fixed) else fixed)
        _, fd_max = fd_compare(
            result, f, values, wrt, symmetric=symmetric, layouts=layouts, sizes=sizes if compound else None
        )
        largest = max(largest, fd_max)
    assert allow_zero or largest > 1e-8, "the derivative is zero at every point tried: the check proves nothing"
    if check_report:
        report = result.check(points=2, layouts=layouts)
        assert report.ok, f"check(): {report.message} ({report.layouts})"


def norm_ws(text: str) -> str:
    """Normalise whitespace only."""
    return " ".join(text.split())


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ====================================================================== hangs
class Hang(BaseException):
    """Raised by ``no_hang``; not an Exception, so no ``except Exception`` in
    the code under test can swallow it."""


@contextmanager
def no_hang(seconds: float):
    """Hang once ``seconds`` have passed (SIGALRM, the main thread): a cell that
    regresses to hanging fails its test instead of blocking the suite."""
    def stop(_signum, _frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
