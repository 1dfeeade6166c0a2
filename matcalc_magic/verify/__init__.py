"""Numeric verification by central finite differences, independent of the
symbolic engine.

Nothing here imports :mod:`matcalc_magic.calculus`: the only shared piece is
the forward evaluation of the cell's own expression (each operator's NumPy
implementation).  Random data respects the declared properties (symmetric,
spd, one-hot, …).  What each layout means is restated here from its
definition, so a mistake in :mod:`matcalc_magic.layouts` is caught too.

For a variable declared symmetric, only symmetric perturbations are valid:
the check compares directional derivatives along ``E_ab + E_ba``, which is
what the gradient of a function of a symmetric matrix is defined by.

Large variables are probed along a fixed number of random directions instead
of every basis direction (a wrong derivative still disagrees along almost every
direction), and a point whose whole derivative would have more than
``MAX_ENTRIES`` entries is skipped rather than evaluated: the check must stay
quick however big the user's arrays are.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..graph import Expr, var_props
from ..ops.properties import ONEHOT_ROWS
from .witness import PointValues, ReferenceError, Written
from ..shapes import ONE, ShapeError, concrete, derivative_entries, first_empty, sizes_text


@dataclass
class CheckReport:
    """The numeric verification of one result against finite differences."""

    request: str
    ok: bool
    max_error: float
    tolerance: float
    points: int
    layouts: dict  # layout -> max error
    sizes: list  # the sizes tried, one dict per point
    message: str = ""
    given_point: bool = False  # whether the given arrays/sizes (e.g. the user's) were among the points
    given_skipped: str = ""  # if they were given but not used: why ("too large to check numerically", …)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def badge(self) -> str:
        return f"✓ max error {self.max_error:.1e}" if self.ok else f"✗ max error {self.max_error:.1e}"

    def __repr__(self) -> str:
        return f"<CheckReport {self.request}: {self.badge} over {self.points} points>"


FIRST_ORDER_STEP = 1e-6
SECOND_ORDER_STEP = 1e-4
# A failing point is confirmed with Richardson's (4 D(h/2) − D(h)) / 3, whose
# error is O(h⁴), so its larger step keeps rounding down; when D(h) and D(h/2)
# differ by more than UNSTABLE (relative), f is not smooth at this scale there.
RICHARDSON_STEP = 1e-4
UNSTABLE = 1e-2
FIRST_ORDER_TOL = 1e-6
SECOND_ORDER_TOL = 1e-4
SYMMETRIC = {"symmetric", "spd", "psd"}
#: random points drawn before giving up on a domain (later ones are positive,
#: then diagonally dominant; log det of a product still needs a lucky sign)
DRAW_ATTEMPTS = 8
MAX_DIRECTIONS = 32  # more basis directions than this: probe random ones
MAX_HESSIAN_DIRECTIONS = 12  # a Hessian needs 4 evaluations per pair of them
MAX_ENTRIES = 2_000_000  # of the full derivative at one point (16 MB of float64)
TOO_LARGE = "too large to check numerically"
#: the key of a layout's printed formula (read back) among the compared values
PRINTED_SUFFIX = " as printed"
#: the most of a relative error that may be put down to rounding in f(x ± h e):
#: beyond it the check fails rather than pass on numbers it cannot resolve
MAX_ROUNDING_ALLOWANCE = 1e-4


# ====================================================================== random data
@lru_cache(maxsize=4096)
def _text(symbol) -> str:
    """``str(symbol)``, printed by SymPy once per size symbol, not at every point."""
    return str(symbol)


def _size_below_one(named_shapes, sizes: dict) -> bool:
    """Whether ``sizes`` make one of the shapes smaller than 1×1, as
    :func:`first_empty` says; without SymPy arithmetic where every size is a
    number or a size symbol bound in ``sizes`` (as they are, but θ : n − 1)."""
    if all(d.is_Integer or d.is_Symbol and d in sizes for _, shape in named_shapes for d in shape):
        return any((int(d) if d.is_Integer else int(sizes[d])) < 1 for _, shape in named_shapes for d in shape)
    return first_empty(named_shapes, sizes) is not None


def _entries(of_shape, wrt_shape, order: int, sizes: dict) -> int:
    """:func:`derivative_entries`, from each size on its own where each is bound."""
    try:
        n_var = concrete(wrt_shape[0], sizes) * concrete(wrt_shape[1], sizes)
        n_of = concrete(of_shape[0], sizes) * concrete(of_shape[1], sizes)
    except ShapeError:  # a size left unbound: the product may still be a number (0 · n)
        return derivative_entries(of_shape, wrt_shape, order, sizes)
    return n_var * (n_var if order == 2 else n_of)


def draw_sizes(dims: dict, rng: np.random.Generator, low: int = 2, high: int = 6) -> dict:
    """Distinct small sizes per size symbol (distinct, so a transpose shows)."""
    symbols = sorted(dims.values(), key=_text)
    pool = list(range(low, high + 1))
    rng.shuffle(pool)
    out = {}
    for k, s in enumerate(symbols):
        out[s] = pool[k] if k < len(pool) else int(rng.integers(low, high + 1))
    return out


def draw_value(var: Expr, sizes: dict, rng: np.random.Generator, attempt: int = 0) -> np.ndarray:
    r, c = (concrete(d, sizes) for d in var.shape)
    props = var_props(var)
    if "spd" in props or "psd" in props or "positive_definite" in props:
        m = rng.standard_normal((r, r))
        return m @ m.T / r + np.eye(r)
    if "onehot" in props:
        out = np.zeros((r, c))
        if c == 1 or r == 1:
            out.flat[rng.integers(out.size)] = 1.0
        else:
            out[rng.integers(r, size=c), np.arange(c)] = 1.0
        return out
    if ONEHOT_ROWS in props:
        out = np.zeros((r, c))
        out[np.arange(r), rng.integers(c, size=r)] = 1.0
        return out
    if "probability" in props:
        p = rng.random((r, c)) + 0.1
        return p / p.sum() if (c == 1 or r == 1) else p / p.sum(axis=0, keepdims=True)
    positive = "positive" in props or attempt >= 1
    base = rng.uniform(0.5, 1.5, (r, c)) if positive else rng.standard_normal((r, c))
    if "symmetric" in props:
        base = (base + base.T) / 2
    if "invertible" in props or (attempt >= 2 and r == c):
        base = base + r * np.eye(r)  # diagonally dominant: well-conditioned
    return base


def draw_env(variables: dict, sizes: dict, rng, attempt: int = 0) -> dict:
    return {name: draw_value(v, sizes, rng, attempt) for name, v in sorted(variables.items())}


# ====================================================================== finite differences
def directions(var: Expr, sizes: dict, rng: np.random.Generator | None = None,
               limit: int = MAX_DIRECTIONS) -> list[np.ndarray]:
    """A basis of the perturbations the declaration allows, or ``limit`` random
    unit directions among them when the basis is longer than that."""
    r, c = (concrete(d, sizes) for d in var.shape)
    out = []
    symmetric = bool(var_props(var) & SYMMETRIC) and r == c
    basis_size = r * (r + 1) // 2 if symmetric else r * c
    if rng is not None and basis_size > limit:
        for _ in range(limit):
            e = rng.standard_normal((r, c))
            if symmetric:
                e = e + e.T
            out.append(e / np.linalg.norm(e))
        return out
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


def written_function(result, env: dict, sizes: dict, point: PointValues | None = None):
    """The request's function as the cell writes it (the witness): evaluated
    from the syntax tree, never from the simplified graph."""
    req, cell = result.request, result.cell
    return Written(cell.program, req.of_node, req.wrt_name, env, sizes, cell.node_shapes, point)


def first_directional(f, x: np.ndarray, e: np.ndarray, h: float = FIRST_ORDER_STEP) -> np.ndarray:
    return (f(x + h * e) - f(x - h * e)) / (2 * h)


def second_directional(f, x, e1, e2, h: float = SECOND_ORDER_STEP) -> float:
    pp = f(x + h * e1 + h * e2)
    pm = f(x + h * e1 - h * e2)
    mp = f(x - h * e1 + h * e2)
    mm = f(x - h * e1 - h * e2)
    return float(((pp - pm - mp + mm) / (4 * h * h)).reshape(-1)[0])


# ====================================================================== layouts, restated
def expected_kind(of_shape, wrt_shape, order: int, direction: bool = False) -> str:
    def vector(s):
        return s[0] == ONE or s[1] == ONE

    if direction:  # ∇²J · v: an array in the variable's shape
        return "hvp"
    if order == 2:
        return "hessian"
    if of_shape == (ONE, ONE):
        return "gradient"
    if wrt_shape == (ONE, ONE):
        return "jacobian"
    if vector(of_shape) and vector(wrt_shape):
        return "jacobian"
    return "tensor"


def to_full_tensor(kind: str, layout: str, arr: np.ndarray, out_shape, var_shape, of_sym, wrt_sym) -> np.ndarray:
    """The layout's array as T[p, q, r, s] = ∂Y_pq/∂X_rs (∂²J/∂X_pq∂X_rs for a
    Hessian; (∇²J · v)_rs for a Hessian-vector product, laid out as a gradient)."""
    p, q = out_shape
    r, s = var_shape
    arr = np.asarray(arr, dtype=float)
    n_out = sum(1 for d in of_sym if d != ONE)
    if kind in ("gradient", "hvp"):
        g = {"numerator": lambda a: a.T, "vec": lambda a: a.reshape((r, s), order="F")}.get(
            layout, lambda a: a.reshape((r, s)))(arr)
        return g.reshape(1, 1, r, s)
    if kind == "jacobian" and (r, s) == (1, 1) and wrt_sym == (ONE, ONE):
        j = {"denominator": lambda a: a.T, "vec": lambda a: a.reshape((p, q), order="F")}.get(
            layout, lambda a: a.reshape((p, q)))(arr)
        return j.reshape(p, q, 1, 1)
    if kind == "jacobian":
        j = arr.T if layout == "denominator" else arr.reshape(p * q, r * s)
        return j.reshape((p, q, r, s), order="F")
    if kind == "hessian":
        if layout == "index":
            return arr.reshape(1, 1, r * s, r * s).reshape((r, s, r, s))
        return arr.reshape((r, s, r, s), order="F")
    # tensor
    if layout == "vec":
        return arr.reshape((p, q, r, s), order="F")
    if layout == "denominator":
        n_var = arr.ndim - n_out
        arr = np.transpose(arr, list(range(n_var, arr.ndim)) + list(range(n_var)))
    return arr.reshape((p, q, r, s))


def expected_shape(kind: str, layout: str, of_sym, wrt_sym) -> tuple:
    """The symbolic shape each layout must have (the API's contract)."""
    p, q = of_sym
    r, s = wrt_sym
    idx_out = tuple(d for d in of_sym if d != ONE)
    idx_var = tuple(d for d in wrt_sym if d != ONE)
    if kind in ("gradient", "hvp"):
        return {"numerator": (s, r), "vec": (ONE, r * s), "index": idx_var}.get(layout, (r, s))
    if kind == "jacobian" and wrt_sym == (ONE, ONE):
        return {"denominator": (q, p), "vec": (p * q, ONE), "index": idx_out}.get(layout, (p, q))
    if kind == "jacobian":
        return {"denominator": (r * s, p * q), "index": idx_out + idx_var}.get(layout, (p * q, r * s))
    if kind == "hessian":
        return idx_var + idx_var if layout == "index" else (r * s, r * s)
    if layout == "vec":
        return (p * q, r * s)
    return idx_var + idx_out if layout == "denominator" else idx_out + idx_var


# ====================================================================== the check
@dataclass
class PointCheck:
    sizes: dict
    errors: dict  # layout -> relative max error


def check_result(result, points: int = 3, seed: int | None = None, layouts=None, env: dict | None = None,
                 sizes: dict | None = None):
    """Compare every layout of ``result`` with finite differences at random points
    (and at ``env``/``sizes`` if given, e.g. the user's own arrays)."""
    from ..layouts import LAYOUTS

    layouts = tuple(layouts or LAYOUTS)
    req = result.request
    cell = result.cell
    kind = expected_kind(req.of.shape, req.wrt.shape, req.order, req.direction is not None)
    if kind != result.kind:
        return CheckReport(req.text, False, float("inf"), 0.0, 0, {}, [],
                           f"kind is {result.kind!r} but a {kind} was expected from the shapes")
    seed = zlib.crc32((cell.source + req.text).encode()) if seed is None else seed
    rng = np.random.default_rng(seed)
    variables = dict(cell.variables)
    if req.wrt_name not in variables:
        variables[req.wrt_name] = req.wrt
    tol = SECOND_ORDER_TOL if kind in ("hessian", "hvp") else FIRST_ORDER_TOL
    worst: dict = {layout: 0.0 for layout in layouts}
    excess: dict = {layout: 0.0 for layout in layouts}  # error beyond the rounding allowance
    tried = []
    problems = []
    given_skipped = ""  # why the given point (the user's arrays) was not used
    plans = [(sizes, env)] if env is not None else []
    plans += [(None, None)] * points
    for layout in layouts:  # a printed form that does not read back certifies nothing
        error = result.view(layout).printed.error
        if error:
            problems.append(f"{layout}: {error}")
    off_as_printed: set = set()  # layouts whose printed formula, read back, is wrong
    shapes = [(name, v.shape) for name, v in variables.items()] + [("of", req.of.shape)]
    for given_sizes, given_env in plans:
        given = given_env is not None
        outcome, why, detail = None, "values outside the functions' domains", ""
        for attempt in range(DRAW_ATTEMPTS):
            # later attempts widen the sizes too: x[5:] needs n > 5, log det(A X) needs A m×n with m ≤ n
            sz = draw_sizes(cell.dims, rng, high=6 + 2 * attempt)
            sz.update(given_sizes or {})
            if _size_below_one(shapes, sz):  # θ : n − 1 needs n ≥ 2
                why, detail = "a size is below 1", f"at {_sizes_text(sz)}"
                continue
            entries = _entries(req.of.shape, req.wrt.shape, req.result_order, sz)
            largest = max(((name, concrete(v.shape[0], sz) * concrete(v.shape[1], sz))
                           for name, v in variables.items()), key=lambda p: p[1], default=("", 0))
            if entries > MAX_ENTRIES or largest[1] > MAX_ENTRIES:
                why, detail = TOO_LARGE, (f"{entries:,} derivative entries at {_sizes_text(sz)}"
                                          if entries > MAX_ENTRIES else
                                          f"{largest[0]} has {largest[1]:,} entries at {_sizes_text(sz)}")
                if given_sizes is not None or not cell.dims:
                    break  # the sizes are fixed: drawing again cannot help
                continue
            if given and not all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in given_env.values()):
                why, detail = "the arrays hold NaN or inf", ""
                break
            point = dict(given_env) if given else {}
            for name, v in sorted(variables.items()):
                point.setdefault(name, draw_value(v, sz, rng, attempt))
            try:
                outcome = _check_point(result, kind, layouts, point, sz, rng)
            except ReferenceError as e:  # the witness cannot read the cell: no verdict is possible
                return CheckReport(req.text, False, float("inf"), tol, 0, {}, [],
                                   f"the cell as written could not be evaluated numerically ({e})")
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                outcome = None  # e.g. a fixed index X[1, 2] beyond these sizes, a singular matrix
            if outcome is not None:
                break
        if outcome is None:
            if given:
                given_skipped = why
            elif why == TOO_LARGE:
                problems.append(f"{why} ({detail}; symbolic sizes are checked at small ones)")
            else:
                problems.append(f"no valid random point ({why}{' ' + detail if detail else ''})")
            continue
        tried.append({_text(k): v for k, v in sz.items()})
        errors, allowance = outcome
        for key, err in errors.items():
            layout = key.removesuffix(PRINTED_SUFFIX)
            worst[layout] = max(worst[layout], err)
            excess[layout] = max(excess[layout], err - allowance)
            if key != layout and err - allowance > tol and errors[layout] - allowance <= tol:
                off_as_printed.add(layout)
    if not tried:
        worst = {}
    max_error = max(worst.values()) if worst else float("inf")
    ok = bool(tried) and max(excess.values()) <= tol and not problems
    bad = [l for l, e in excess.items() if e > tol and l not in off_as_printed]
    if tried and bad:
        problems.append("differs from finite differences in layout(s) " + ", ".join(bad))
    if tried and off_as_printed:
        problems.append("the printed formula (read back) differs from finite differences in layout(s) "
                        + ", ".join(l for l in layouts if l in off_as_printed))
    if not ok and not problems:
        problems.append("no point to check at")
    msg = "; ".join(dict.fromkeys(problems))
    given_point = env is not None and not given_skipped
    return CheckReport(req.text, ok, max_error, tol, len(tried), worst, tried, msg, given_point, given_skipped)


def _sizes_text(sizes: dict) -> str:
    return sizes_text(sizes) or "these sizes"


def _check_point(result, kind, layouts, env, sizes, rng) -> tuple[dict, float] | None:
    """The relative error of every layout at one point, and how much of it
    rounding in the finite differences can explain (None: not a valid point)."""
    req = result.request
    with np.errstate(all="ignore"):
        x = env[req.wrt_name]
        given = {req.wrt_name: x} if req.wrt_name in result.cell.definitions else None
        # the cell's definitions at this point, evaluated once for the witness and every printed reading
        point = PointValues(result.cell.program, env, sizes, given)
        f = written_function(result, env, sizes, point)
        y0 = f(x)
        if not np.all(np.isfinite(y0)):
            return None
        dirs = directions(req.wrt, sizes, rng, MAX_HESSIAN_DIRECTIONS if kind == "hessian" else MAX_DIRECTIONS)
        if kind == "hessian":
            fd = np.array([[second_directional(f, x, a, b) for b in dirs] for a in dirs])
        elif kind == "hvp":  # ⟨e, ∇²J v⟩ is J's second derivative along v and e
            v = env[req.direction_name]
            fd = np.array([second_directional(f, x, v, e) for e in dirs]).reshape(-1, 1, 1)
        else:
            fd = np.stack([first_directional(f, x, e) for e in dirs])  # (k, p, q)
        if not np.all(np.isfinite(fd)):
            return None
        shared: dict = {}  # the views of one point share their sub-expressions
        project = _Projection(kind, req, sizes, y0.shape, x.shape, dirs)
        readings: dict = {}  # id(PrintedForm) -> its value: layouts that print the same text share it
        projected = {}
        for layout in layouts:
            view = result.view(layout)
            value = np.asarray(view.evaluate_at(env, sizes, shared), dtype=float)
            projected[layout] = project(value, layout)
            form = view.printed
            if not form.error:
                if id(form) not in readings:
                    try:
                        readings[id(form)] = form.value(env, sizes, given, point)
                    except ReferenceError:
                        readings[id(form)] = None  # read back, but not evaluable: as wrong as a wrong value
                # an index-notation print reads back in the index layout's arrangement
                as_layout = "index" if form.index is not None else layout
                projected[layout + PRINTED_SUFFIX] = project(readings[id(form)], as_layout)
        second = kind in ("hessian", "hvp")
        step = SECOND_ORDER_STEP ** 2 if second else FIRST_ORDER_STEP  # what f's rounding is divided by
        errors, allowance = _compare(projected, fd, y0, step)
        tol = SECOND_ORDER_TOL if second else FIRST_ORDER_TOL
        if max(e - allowance for e in errors.values()) > tol:
            # confirm before failing: an ill-conditioned point (a nearly singular
            # X under log det, a high power of A⁻¹) can defeat the plain difference quotient
            if kind == "hessian":
                h = SECOND_ORDER_STEP
                coarse = np.array([[second_directional(f, x, a, b, h) for b in dirs] for a in dirs])
                fine = np.array([[second_directional(f, x, a, b, h / 2) for b in dirs] for a in dirs])
                h_fine = (h / 2) ** 2
            elif kind == "hvp":
                h = SECOND_ORDER_STEP
                coarse = np.array([second_directional(f, x, v, e, h) for e in dirs]).reshape(-1, 1, 1)
                fine = np.array([second_directional(f, x, v, e, h / 2) for e in dirs]).reshape(-1, 1, 1)
                h_fine = (h / 2) ** 2
            else:
                coarse = np.stack([first_directional(f, x, e, RICHARDSON_STEP) for e in dirs])
                fine = np.stack([first_directional(f, x, e, RICHARDSON_STEP / 2) for e in dirs])
                h_fine = RICHARDSON_STEP / 2
            if not (np.all(np.isfinite(coarse)) and np.all(np.isfinite(fine))):
                return None
            if np.max(np.abs(fine - coarse)) > UNSTABLE * max(1.0, float(np.max(np.abs(fine)))):
                return None  # f is not smooth at this scale here (a numerically singular matrix): no verdict
            errors, allowance = _compare(projected, (4 * fine - coarse) / 3, y0, h_fine)
        return errors, allowance


class _Projection:
    """Derivatives at one point applied to its directions: the basis is stacked,
    and each layout's concrete shape worked out, once for every layout."""

    def __init__(self, kind, req, sizes, out_shape, var_shape, dirs):
        self.kind, self.req, self.sizes = kind, req, sizes
        self.out_shape, self.var_shape = out_shape, var_shape
        self.basis = np.stack(dirs).reshape(len(dirs), -1)  # (k, r s): row i is direction i
        self.wants: dict = {}

    def want(self, layout: str) -> tuple:
        if layout not in self.wants:
            req = self.req
            self.wants[layout] = tuple(concrete(d, self.sizes)
                                       for d in expected_shape(self.kind, layout, req.of.shape, req.wrt.shape))
        return self.wants[layout]

    def __call__(self, arr, layout: str) -> np.ndarray | None:
        """The derivative ``arr``, arranged as ``layout``, applied to each
        direction (None: missing, wrong shape or not finite)."""
        if arr is None:
            return None
        arr = np.asarray(arr, dtype=float)
        if arr.shape != self.want(layout):
            return None
        req = self.req
        t = to_full_tensor(self.kind, layout, arr, self.out_shape, self.var_shape, req.of.shape, req.wrt.shape)
        n = self.basis.shape[1]  # r s
        if self.kind == "hessian":  # B H Bᵀ: ⟨e_a, H e_b⟩ for every pair of directions
            sym = self.basis @ (t.reshape(n, n) @ self.basis.T)  # (k, k)
        else:  # ⟨T_pq, e⟩ for every entry pq and direction e
            p, q = self.out_shape
            sym = (self.basis @ t.reshape(p * q, n).T).reshape(-1, p, q)  # (k, p, q)
        return sym if np.all(np.isfinite(sym)) else None


def _compare(projected: dict, fd: np.ndarray, y0: np.ndarray, step: float) -> tuple[dict, float]:
    scale = max(1.0, float(np.max(np.abs(fd))) if fd.size else 1.0)
    # rounding in f(x ± h e) is amplified by 1/step (h, or h² for a Hessian):
    # a big f makes that noise, not the derivative, the larger error
    noise = 8 * np.finfo(float).eps * float(np.max(np.abs(y0), initial=1.0)) / step
    errors = {layout: float("inf") if sym is None else
              (float(np.max(np.abs(sym - fd))) / scale if fd.size else 0.0)
              for layout, sym in projected.items()}
    return errors, min(noise / scale, MAX_ROUNDING_ALLOWANCE)
