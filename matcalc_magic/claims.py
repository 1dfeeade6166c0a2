"""Checking a user's claimed derivative: ``claim ∂J/∂W = (ŷ - y) x^T``.

A claim is compared with the derivative the engine derives for the same
request, *in a layout* (the cell's, unless another is asked for):

* symbolically where possible: the claimed expression and the layout's
  matrix expression are the same canonical node (sums and Hadamard products
  compared as multisets) → "identical";
* numerically always: both are evaluated at random points that respect the
  declared properties (one-hot, symmetric, …; fixed seeds, so verdicts are the
  same every run), and also at the user's own arrays when there are any.

By a symmetric matrix only a gradient's symmetric part is measured (the
variable moves in symmetric directions only): a claim of the unconstrained
gradient G is as right as the printed sym(G), and says so.

A false claim gets a diagnosis, in this order of preference:

* ``transpose``: the transpose of the correct result, naming the layout in
  which the claim *would* be right ("this is the numerator-layout answer; the
  cell uses the shape convention");
* ``layout``: the answer of another layout that is not a plain transpose
  (e.g. the vec layout's row);
* ``factor``: off by a constant factor, shown exactly when it is a simple
  rational ("off by a constant factor 2");
* ``shape``: the wrong shape ("wrong shape: m×1 where n×1 is needed");
* ``independent-entries``: for a symmetric variable, the Matrix Cookbook's
  ``2G − diag(G)`` (the derivative by the independent entries, not a gradient);
* ``different``: plainly different, with the largest entry-wise error at the
  first random point.

>>> import matcalc_magic as mm
>>> from matcalc_magic.claims import check_claims
>>> d = mm.derive('''
... x : n
... W : m x n
... y = W x
... J = y^T y
... claim ∂J/∂W = y x^T
... ''')
>>> check_claims(d)[0].diagnosis
'off by a constant factor 2 (the correct result is 2 × the claim)'

Only the public API is used, plus the expression printers for the claimed
expression's LaTeX and text.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import layouts as L
from .deadline import now_working_on
from .graph import Expr, is_zero, substitute
from .verify.witness import Reference, ReferenceError
from .shapes import ONE, dim_str, same
from .verify import DRAW_ATTEMPTS, draw_env, draw_sizes

#: entry-wise agreement needed for "equal" (both sides are exact evaluations,
#: no finite differences, so this can be strict)
EQUAL_TOL = 1e-8
#: preference order when naming the layout in which a claim would be right
NAMED_LAYOUTS = ("numerator", "denominator", "shape", "vec")

LAYOUT_NAMES = {
    "numerator": "numerator layout",
    "denominator": "denominator layout",
    "shape": "shape convention",
    "index": "index notation",
    "vec": "vec layout",
}
ANSWER_NAMES = {
    "numerator": "numerator-layout answer",
    "denominator": "denominator-layout answer",
    "shape": "shape-convention answer",
    "index": "index-notation answer",
    "vec": "vec-layout answer",
}


class ClaimFailed(Exception):
    """One or more claims of a cell are false.  IPython shows the diagnoses
    (``_render_traceback_``), never a Python traceback."""

    def __init__(self, verdicts: list[ClaimVerdict], where: str = "", line_offset: int | None = 0):
        self.verdicts = [v for v in verdicts if not v.ok]
        self.where = where
        self.line_offset = line_offset
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.verdicts)
        head = f"{n} false claim{'s' if n != 1 else ''}" + (f" in {self.where}" if self.where else "")
        return head + ": " + "; ".join(f"{v.claim_text}: {v.diagnosis}" for v in self.verdicts)

    def _render_traceback_(self) -> list[str]:
        n = len(self.verdicts)
        lines = [f"\x1b[1;31mClaimFailed\x1b[0m: {n} false claim{'s' if n != 1 else ''}"
                 + (f" in {self.where}" if self.where else "")]
        for v in self.verdicts:
            where = f" (line {v.line + self.line_offset})" if v.line and self.line_offset is not None else ""
            lines.append(f"  \x1b[31m✗\x1b[0m {v.claim_text}{where}")
            lines.append(f"    {v.diagnosis}")
            lines.append(f"    derived: {v.expected_text}")
        return lines


@dataclass
class ClaimVerdict:
    """The verdict on one claim, in one layout."""

    claim: object  # ClaimSpec
    result: object  # the derived Result the claim is about
    layout: str
    ok: bool
    status: str  # identical | equal | transpose | layout | factor | shape | different | unchecked
    diagnosis: str
    factor: Fraction | float | None = None
    matching_layouts: tuple = ()
    max_error: float | None = None
    points: int = 0
    at_user_arrays: bool = False
    line: int | None = None

    @property
    def claim_text(self) -> str:
        return f"claim {self.claim.request.text} = {self.claim.value_text}"

    @property
    def claim_latex(self) -> str:
        """The claim as written: the user's names, transposes and functions,
        typeset from the syntax tree (not the expression it stands for)."""
        spec = self.claim
        if spec.written is None:  # a claim made without its syntax: its checked expression
            from .render.latex import to_latex

            value = to_latex(spec.value, self.result.labels, aliases=False)
            return f"{self.result.view(self.layout).lhs_latex} = {value}"
        from .render.written import written_latex

        source = self.result.cell.source
        lhs = written_latex(spec.written.target, source)
        return f"{lhs} = {written_latex(spec.written.value, source, spec.scalars)}"

    @property
    def derived_differs(self) -> bool:
        """The derived result is printed otherwise than the claim is written
        (then it is shown beside the claim)."""
        written = self.claim_latex.split(" = ", 1)[1]
        derived = self.result.view(self.layout).rhs_latex
        return " ".join(written.split()) != " ".join(derived.split())

    @property
    def expected_text(self) -> str:
        return self.result.view(self.layout).text

    @property
    def expected_latex(self) -> str:
        return self.result.view(self.layout).latex

    @property
    def badge(self) -> str:
        return ("✓ " if self.ok else "✗ ") + self.diagnosis

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<ClaimVerdict {self.claim_text}: {self.badge}>"


# ====================================================================== evidence
@dataclass
class Point:
    sizes: dict  # size symbol -> int
    claim: np.ndarray
    views: dict  # layout -> array (absent when the view cannot be evaluated)
    user: bool = False
    user_values: bool = False  # the user's point had arrays (not only sizes)


@dataclass
class ClaimEvidence:
    """Everything measured about one claim, for every layout at once: a verdict
    in any layout is then a comparison of stored arrays (the layout toggle
    of the widget never evaluates again)."""

    claim: object
    result: object
    points: list[Point] = field(default_factory=list)
    problem: str = ""
    _verdicts: dict = field(default_factory=dict, repr=False)

    def verdict(self, layout: str) -> ClaimVerdict:
        if layout not in self._verdicts:
            self._verdicts[layout] = _judge(self, L.check_layout(layout))
        return self._verdicts[layout]


def gather(derivation, points: int = 3, seed: int | None = None, env: dict | None = None,
           sizes: dict | None = None) -> list[ClaimEvidence]:
    """Evaluate every claim of ``derivation`` and every layout of its derived
    result at ``points`` random points (and at ``env``/``sizes``, the user's
    arrays, when given)."""
    cell = derivation.cell
    out = []
    for spec, result in zip(cell.claims, derivation.claim_results):
        now_working_on("judging this claim", spec.span)
        ev = ClaimEvidence(spec, result)
        s = zlib.crc32((cell.source + "\0claim\0" + spec.request.text + "=" + spec.value_text).encode())
        rng = np.random.default_rng(s if seed is None else seed)
        plans = [(env, sizes)] if env is not None else []
        plans += [(None, None)] * points
        for given_env, given_sizes in plans:
            point = None
            for attempt in range(DRAW_ATTEMPTS):
                sz = _complete_sizes(cell, given_sizes, rng)
                values = dict(given_env or {})
                missing = {k: v for k, v in cell.variables.items() if k not in values}
                values.update(draw_env(missing, sz, rng, attempt))
                point = _measure(ev, values, sz, user=given_env is not None)
                if point is not None and point.user:
                    point.user_values = bool(given_env)
                if point is not None:
                    break
            if point is not None:
                ev.points.append(point)
        if not ev.points:
            ev.problem = ev.problem or "no valid random point (values outside the functions' domains)"
        out.append(ev)
    return out


def check_claims(derivation, layout: str | None = None, points: int = 3, seed: int | None = None,
                 env: dict | None = None, sizes: dict | None = None) -> list[ClaimVerdict]:
    """The verdict on each claim of ``derivation`` in ``layout`` (default: the
    derivation's layout)."""
    layout = layout or derivation.layout
    return [ev.verdict(layout) for ev in gather(derivation, points, seed, env, sizes)]


def _complete_sizes(cell, given: dict | None, rng) -> dict:
    drawn = draw_sizes(cell.dims, rng)
    if not given:
        return drawn
    out = dict(given)
    used = set(out.values())
    for sym, value in drawn.items():
        if sym not in out:
            while value in used:  # keep sizes distinct, so a transpose shows
                value += 1
            out[sym] = value
            used.add(value)
    return out


def _measure(ev: ClaimEvidence, values: dict, sizes: dict, user: bool) -> Point | None:
    spec, result = ev.claim, ev.result
    cell = result.cell
    req = spec.request
    env = dict(values)
    with np.errstate(all="ignore"):
        try:
            # the claim as written, read by the check's witness (not the simplified graph)
            written = Reference(cell.program, env, sizes, cell.node_shapes)
            if req.wrt_name not in cell.variables:  # ∂J/∂z for a defined z: z's own value
                env[req.wrt_name] = written.name(req.wrt_name)
            claim = written.expr(spec.written.value)
        except ReferenceError as e:
            ev.problem = f"the claim could not be evaluated as written ({e})"
            return None
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None
        if not np.all(np.isfinite(claim)):
            return None
        views = {}
        for layout in L.LAYOUTS:
            try:
                arr = np.asarray(result.view(layout).evaluate_at(env, sizes), dtype=float)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                continue
            if np.all(np.isfinite(arr)):
                views[layout] = arr
    if not views:
        return None
    return Point(sizes, claim, views, user)


# ====================================================================== verdicts
def _judge(ev: ClaimEvidence, layout: str) -> ClaimVerdict:
    spec, result = ev.claim, ev.result
    view = result.view(layout)
    line = _line_of(result.cell.source, spec.span.start) if spec.span is not None else None
    n_random = sum(1 for p in ev.points if not p.user)
    user = any(p.user for p in ev.points)

    def verdict(ok, status, diagnosis, **kw):
        return ClaimVerdict(spec, result, layout, ok, status, diagnosis, points=n_random, at_user_arrays=user,
                            line=line, **kw)

    claim_shape = spec.value.shape
    want_shape = view.symbolic_shape
    # "= 0" claims a zero of whatever shape is needed, as a textbook writes it
    zero_claim = is_zero(spec.value) and claim_shape == (ONE, ONE)
    compatible = zero_claim or _compatible(claim_shape, want_shape, layout)
    identical = view.expr is not None and _identical(spec.value, view.expr, result)
    if not ev.points or any(layout not in p.views for p in ev.points):
        if identical:
            return verdict(True, "identical", "identical to the derived result")
        return verdict(False, "unchecked", "could not be checked numerically: " + (
            ev.problem or f"the {LAYOUT_NAMES[layout]} result could not be evaluated"))

    def arrays(lay, transpose=False):
        out = []
        for p in ev.points:
            a = p.views.get(lay)
            if a is None:
                return None
            if transpose:
                if a.ndim != 2:
                    return None
                a = a.T
            out.append(a)
        return out

    expected = arrays(layout)
    claims = [np.zeros_like(e) for e in expected] if zero_claim else [p.claim for p in ev.points]
    where = _where(ev.points)

    if compatible:
        if _all_equal(claims, expected, squeeze=layout == "index"):
            if identical:
                return verdict(True, "identical", f"identical to the derived result (and equal {where})")
            return verdict(True, "equal", f"equal to the derived result {where}")
        if identical:  # cannot happen unless evaluation is broken: say so rather than guess
            return verdict(False, "unchecked", "identical symbolically but not numerically: please report this")
        symmetric = _within_symmetric(result, layout, claims, expected, where)
        if symmetric is not None:
            return verdict(*symmetric)

    # the claim is another layout's answer, or the transpose of this one
    matches = []
    for other in NAMED_LAYOUTS:
        if other == layout:
            continue
        other_view = result.view(other)
        if not _compatible(claim_shape, other_view.symbolic_shape, other):
            continue
        got = arrays(other)
        if got is not None and _all_equal(claims, got) and not _all_equal(got, expected, squeeze=False):
            matches.append(other)
    transposed = arrays(layout, transpose=True) if len(want_shape) == 2 else None
    t_compatible = len(want_shape) == 2 and _compatible(claim_shape, (want_shape[1], want_shape[0]), layout)
    is_transpose = bool(t_compatible and transposed is not None and _all_equal(claims, transposed)
                        and not (compatible and _all_equal(transposed, expected)))
    named = (f" (this is the {ANSWER_NAMES[matches[0]]}; the cell uses the {LAYOUT_NAMES[layout]})"
             if matches else "")
    if is_transpose:
        return verdict(False, "transpose", "the transpose of the correct result" + named,
                       matching_layouts=tuple(matches))
    if matches:
        return verdict(False, "layout", "the correct derivative, laid out differently" + named,
                       matching_layouts=tuple(matches))

    if compatible:
        c = _factor(claims, expected)
        if c is not None:
            return verdict(False, "factor", _factor_text(c), factor=c)
        sized = _size_factor(ev.points, claims, expected)
        if sized is not None:
            return verdict(False, "factor", f"off by a factor {sized} (the correct result is {sized} × the claim)")
    if t_compatible and transposed is not None:
        c = _factor(claims, transposed)
        if c is not None:
            return verdict(False, "transpose", "the transpose of the correct result, " + _factor_text(c), factor=c)
    if not compatible:
        return verdict(False, "shape", f"wrong shape: {_shape_text(claim_shape)} where "
                                       f"{_shape_text(want_shape)} is needed")
    first = ev.points[-1] if ev.points[0].user and len(ev.points) > 1 else ev.points[0]
    e0 = first.views[layout]
    c0 = np.zeros_like(e0) if zero_claim else first.claim
    err = float(np.max(np.abs(c0.reshape(-1) - e0.reshape(-1)))) if c0.size == e0.size else float("inf")
    sizes = ", ".join(f"{k} = {v}" for k, v in sorted(((str(k), v) for k, v in first.sizes.items())))
    at = f"at a random point ({sizes})" if sizes else "at a random point"
    return verdict(False, "different", f"differs from the derived result: max error {err:.2g} {at}",
                   max_error=err)


def _within_symmetric(result, layout: str, claims, expected, where: str):
    """(ok, status, diagnosis) for a claim by a symmetric matrix that the plain
    comparison rejected, or None.  The variable moves in symmetric directions
    only, so only what a derivative does there counts: the unconstrained
    gradient G is as right as the printed sym(G) (and a Jacobian K as K N).
    The Matrix Cookbook's 2G − diag(G) is a different object and is named."""
    if not result.derivative.within_symmetric:
        return None
    name = result.request.wrt_name
    along = [_along_symmetric(a, result.kind, layout) for a in claims]
    if all(a is not None for a in along) and _all_equal(along, expected, squeeze=False):
        what = "its symmetric part is the derived sym(G)" if result.kind == "gradient" else \
            "on symmetric directions it is the derived derivative"
        return (True, "equal", f"correct within symmetric matrices: {what} {where} "
                               f"({name} is symmetric, so the two agree on every symmetric direction)")
    if result.kind == "gradient":
        cs = [_along_symmetric(c, "cookbook", layout) for c in claims]
        es = [_along_symmetric(e, "cookbook", layout) for e in expected]
        if all(m is not None for m in cs + es) and _all_equal(cs, [2 * e - np.diag(np.diag(e)) for e in es]):
            n = result.request.wrt.shape[0]
            count = str(n * (n + 1) // 2) if n.is_Integer else f"{dim_str(n)}({dim_str(n)} + 1)/2"
            return (False, "independent-entries",
                    f"this is 2G − diag(G) (the Matrix Cookbook's): the derivative with respect to the "
                    f"{count} independent entries of {name}, not a gradient for the "
                    f"Frobenius inner product; within symmetric matrices the gradient is sym(G) = (G + Gᵀ)/2")
    return None


def _along_symmetric(arr, kind: str, layout: str):
    """The array of a derivative by an n×n matrix as it acts on symmetric
    directions only (its variable's pair of axes symmetrized: K → K N), or None
    when the array does not have the layout's shape.  ``cookbook``: a
    gradient's array as the plain n×n matrix it lays out."""
    if layout == "vec" or (kind == "hessian" and layout != "index"):
        if arr.ndim != 2:
            return None
        n = int(round(arr.shape[1] ** 0.5))
        if n * n != arr.shape[1]:
            return None
        cols = arr.reshape((arr.shape[0], n, n), order="F")  # column i + n j is X_ij
        if kind == "cookbook":
            return cols[0] if arr.shape[0] == 1 else None
        cols = (cols + cols.transpose(0, 2, 1)) / 2
        out = cols.reshape(arr.shape, order="F")
        if kind == "hessian":  # N H N: the rows are X's entries too
            rows = out.T.reshape((arr.shape[1], n, n), order="F")
            out = ((rows + rows.transpose(0, 2, 1)) / 2).reshape(arr.shape, order="F").T
        return out
    if kind in ("gradient", "cookbook"):
        return (arr + arr.T) / 2 if kind == "gradient" and arr.ndim == 2 else (arr if arr.ndim == 2 else None)
    if arr.ndim < 2:
        return None
    if kind == "hessian":  # index: (i, j, k, l), X's indices twice
        if arr.ndim != 4:
            return None
        arr = (arr + arr.transpose(1, 0, 2, 3)) / 2
        return (arr + arr.transpose(0, 1, 3, 2)) / 2
    first = layout == "denominator"  # a tensor: the variable's two axes first or last
    axes = list(range(arr.ndim))
    a, b = (0, 1) if first else (arr.ndim - 2, arr.ndim - 1)
    axes[a], axes[b] = b, a
    return (arr + arr.transpose(axes)) / 2


def _where(points) -> str:
    n = sum(1 for p in points if not p.user)
    text = f"at {n} random point{'s' if n != 1 else ''}"
    if any(p.user for p in points):
        text += " and at your arrays" if any(p.user and p.user_values for p in points) else " and at your sizes"
    return text


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, max(0, offset)) + 1


def _squeezed(shape) -> tuple:
    return tuple(d for d in shape if d != ONE)


def _compatible(claim_shape, want_shape, layout: str) -> bool:
    """Same symbolic shape; index notation has no orientation (k×1 is k)."""
    if layout == "index" or len(want_shape) != 2:
        a, b = _squeezed(claim_shape), _squeezed(want_shape)
    else:
        a, b = tuple(claim_shape), tuple(want_shape)
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))


def _shape_text(shape) -> str:
    if len(shape) == 0:
        return "a scalar"
    return "×".join(dim_str(d) for d in shape)


def _all_equal(xs, ys, squeeze: bool = True) -> bool:
    if xs is None or ys is None or len(xs) != len(ys):
        return False
    for x, y in zip(xs, ys):
        if x.shape != y.shape:
            if not squeeze or x.size != y.size or _squeeze_np(x.shape) != _squeeze_np(y.shape):
                return False
            x, y = x.reshape(-1), y.reshape(-1)
        scale = max(1.0, float(np.max(np.abs(y))) if y.size else 1.0)
        if y.size and float(np.max(np.abs(x - y))) > EQUAL_TOL * scale:
            return False
    return True


def _squeeze_np(shape) -> tuple:
    return tuple(s for s in shape if s != 1)


def _factor(claims, expected) -> Fraction | float | None:
    """c with expected = c × claim at every point, if there is one (c ≠ 0, 1)."""
    xs, ys = [], []
    for x, y in zip(claims, expected):
        if x.size != y.size or (x.shape != y.shape and _squeeze_np(x.shape) != _squeeze_np(y.shape)):
            return None
        xs.append(x.reshape(-1))
        ys.append(y.reshape(-1))
    x, y = np.concatenate(xs), np.concatenate(ys)
    xx = float(x @ x)
    if xx == 0.0 or not np.isfinite(xx):
        return None
    c = float(x @ y) / xx
    scale = max(1.0, float(np.max(np.abs(y))))
    if not np.isfinite(c) or abs(c) < 1e-9 or float(np.max(np.abs(c * x - y))) > 1e-7 * scale:
        return None
    if abs(c - 1.0) <= 1e-9:
        return None
    f = Fraction(c).limit_denominator(64)
    if abs(float(f) - c) <= 1e-7 * max(1.0, abs(c)):
        return f
    return c


def _size_factor(points, claims, expected) -> str | None:
    """'1/m' when expected = (1/m) × claim at every point, m a size that
    changes between points (Ng's dZ is m ∂J/∂Z): the factor of each point
    alone, compared with the sizes drawn there."""
    per_point = []
    for p, x, y in zip(points, claims, expected):
        c = _factor([x], [y])
        if c is None:
            return None
        per_point.append((p.sizes, float(c)))
    symbols = {str(k) for sizes, _ in per_point for k in sizes}
    for name in sorted(symbols):
        for power, text in ((1, "{k}{s}"), (-1, "{k}/{s}")):
            ks = []
            for sizes, c in per_point:
                value = {str(k): v for k, v in sizes.items()}.get(name)
                if not value:
                    break
                ks.append(c / float(value) ** power)
            else:
                if len({round(k, 9) for k in ks}) == 1 and len({str(s) for s, _ in per_point}) > 1:
                    k = Fraction(ks[0]).limit_denominator(64)
                    if abs(float(k) - ks[0]) <= 1e-7 * max(1.0, abs(ks[0])):
                        lead = "" if k == 1 else f"{k}·"
                        return (f"{lead}{name}" if power == 1 else f"{k.numerator}/({k.denominator}·{name})"
                                if k.denominator != 1 else f"{k.numerator}/{name}")
    return None


def _factor_text(c) -> str:
    """``expected = c × claim``, said the way round that reads best."""
    if c == -1:
        return "off by a sign (factor -1: the correct result is the negative of the claim)"
    if abs(c) < 1:
        inv = 1 / c
        return f"off by a constant factor {_number(inv)} (the claim is {_number(inv)} × the correct result)"
    return f"off by a constant factor {_number(c)} (the correct result is {_number(c)} × the claim)"


def _number(c) -> str:
    return str(c) if isinstance(c, Fraction) else f"≈ {c:.4g}"


# ====================================================================== symbolic
def _identical(value: Expr, expr: Expr, result) -> bool:
    """The claimed expression and the derived one are the same node, up to
    the order of terms in sums and of factors in Hadamard products."""
    req = result.request
    cell = result.cell
    if req.wrt_name not in cell.variables and req.wrt_name in cell.definitions:
        expr = substitute(expr, {req.wrt: cell.definitions[req.wrt_name]})
    if value is expr:
        return True
    return _canon(value) == _canon(expr)


_COMMUTATIVE = frozenset({"add", "hadamard"})


def _canon(root: Expr) -> str:
    from .graph import postorder

    memo: dict = {}
    for node in postorder(root):
        parts = [memo[id(a)] for a in node.args]
        if node.op in _COMMUTATIVE:
            parts.sort()
        memo[id(node)] = f"{node.op}{node.params!r}{node.shape!r}(" + ",".join(parts) + ")"
    return memo[id(root)]
