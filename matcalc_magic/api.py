"""The public API: ``derive(text)`` and the results it returns.

>>> import matcalc_magic as mm
>>> res = mm.derive('''
... x : n
... A : n x n
... ∂(x^T A x)/∂x
... ''')
>>> res[0].view("shape").text
'∂(xᵀ A x)/∂x = (A + Aᵀ) x'

The magic and the widgets use nothing but this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import layouts as L
from .calculus import derivative as _derivative
from .calculus.derivative import Derivative
from .typecheck import CheckedCell, Request, check
from .deadline import working_on
from .errors import TOO_DEEP, MatcalcError, Span
from .evaluate import as_matrix, evaluate
from .graph import Expr
from .limits import ConstantError
from .ops.registry import MissingRule
from .render.latex import to_latex
from .render.names import name_latex, name_text
from .render.text import to_text
from .shapes import ONE, ShapeError, concrete, derivative_entries, dim_str
from .syntax import canonical_name, parse


def derive(text: str, layout: str = L.DEFAULT_LAYOUT) -> "Derivation":
    """Parse, check and differentiate every request of a derivation."""
    L.check_layout(layout)
    text = without_surrogates(text)
    try:
        with working_on("reading this line", Span(0, 0)):
            program = parse(text)
        cell = check(program)
        derived: dict = {}  # the same derivative asked for twice is derived once
        points = SamplePoints(cell)  # shared by the results: drawn once, when first needed
        results = [Result(cell, req, _derive(req, derived, cell.labels), points) for req in cell.requests]
        claims = [Result(cell, c.request, _derive(c.request, derived, cell.labels), points)
                  for c in cell.claims]
    except MatcalcError as e:
        raise e.with_source(text) from None
    return Derivation(text, cell, results, layout, claims)


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (not a character: it cannot be
    encoded, printed or sent to a front end) replaced by U+FFFD, one for one,
    so every span stays where it was."""
    return _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text


def _derive(req: Request, derived: dict, names=()) -> Derivative:
    key = (req.of, req.wrt, req.order, req.direction)
    try:
        if key not in derived:
            with working_on(f"differentiating {req.text}", req.span):
                derived[key] = _derivative.derive_one(req.of, req.wrt, req.order, names, req.direction)
        return derived[key]
    except ConstantError as e:
        raise MatcalcError(f"cannot differentiate {req.text}: {e.message}", req.span) from None
    except MissingRule as e:
        raise MatcalcError(f"cannot differentiate {req.text}: {e}", req.span,
                           hint="this operation has no derivative rule yet") from None
    except ShapeError as e:  # pragma: no cover - an engine bug, reported plainly
        raise MatcalcError(f"internal shape error while differentiating {req.text}: {e.message}",
                           req.span) from None
    except RecursionError:
        raise MatcalcError(f"cannot differentiate {req.text}: {TOO_DEEP}", req.span) from None


# ====================================================================== results
@dataclass
class Derivation:
    """Every request of a cell, in order; index by position or by request text."""

    source: str
    cell: CheckedCell
    results: list["Result"]
    layout: str = L.DEFAULT_LAYOUT
    claim_results: list["Result"] = field(default_factory=list)  # the derivative each claim is about

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __getitem__(self, key) -> "Result":
        if isinstance(key, int):
            return self.results[key]
        wanted = _normalize_key(key)
        for r in self.results:
            if wanted in (_normalize_key(r.request.text), _normalize_key(r.request.key)):
                return r
        raise KeyError(f"no request {key!r}; requests: {', '.join(r.request.text for r in self.results)}")

    def latex(self, layout: str | None = None) -> str:
        lines = [r.view(layout or self.layout).latex for r in self.results]
        return "\\begin{aligned}\n" + " \\\\\n".join(_align(l) for l in lines) + "\n\\end{aligned}"

    def text(self, layout: str | None = None) -> str:
        return "\n".join(r.view(layout or self.layout).text for r in self.results)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def __repr__(self) -> str:
        return self.text()

    def code(self, backend: str = "numpy", name: str = "derivatives", layout: str | None = None,
             check: bool = False) -> str:
        """Python source of one function, ``name(<the variables the results
        need, in declaration order>)``, returning a dict: each differentiated
        function's value under its name (``"J"``) and each result under the
        name its request reads as (``"dJ_dW"``), in ``layout`` (default: the
        derivation's).  ``backend``: ``"numpy"``, ``"torch"`` or ``"jax"``.
        ``check=True`` adds ``check_derivatives(**arrays)``, which compares
        every result with central finite differences of the value."""
        from .codegen import generate

        return generate(self, backend, name, layout, check)


def _align(latex: str) -> str:
    return latex.replace(" = ", " &= ", 1)


def _normalize_key(text: str) -> str:
    t = "".join(text.split())
    for a, b in (("d", "∂"),):
        if t.startswith(a):
            t = b + t[1:]
        t = t.replace("/" + a, "/" + b)
    return t.replace("(", "").replace(")", "")


class SamplePoints:
    """Two random points for a cell (sizes and variable values, drawn with
    the variables' properties and a fixed seed, so printing is repeatable),
    at which parts of results are compared with the cell's definitions."""

    SEED = 20240611
    COUNT = 2

    def __init__(self, cell: CheckedCell):
        self.cell = cell

    @cached_property
    def values(self):
        """The points, and the values of nodes evaluated there so far."""
        from .render.recognise import SampleValues
        from .verify import draw_env, draw_sizes

        rng = np.random.default_rng(self.SEED)
        points = []
        for _ in range(self.COUNT):
            sizes = draw_sizes(self.cell.dims, rng)
            points.append((draw_env(self.cell.variables, sizes, rng), sizes))
        return SampleValues(points)


@dataclass
class Result:
    """One derivative and its views."""

    cell: CheckedCell
    request: Request
    derivative: Derivative
    sample_points: SamplePoints | None = field(default=None, repr=False)
    _views: dict = field(default_factory=dict, repr=False)
    _read_back: dict = field(default_factory=dict, repr=False)  # printed text → its reading (View.printed)

    @property
    def kind(self) -> str:
        return self.derivative.kind

    @cached_property
    def labels(self) -> dict:
        """The cell's names, and the parts of this result whose value is one
        of its definitions written another way (see render/recognise.py)."""
        found = self.derivative._cache.get("recognised")
        if found is None:
            from .render.recognise import recognised_names

            found = {}
            if self.sample_points is not None and self.cell.labels:
                with working_on(f"finding the cell's names in {self.request.text}", self.request.span):
                    found = recognised_names(self.derivative.matrix, self.cell.labels, self.sample_points.values)
            self.derivative._cache["recognised"] = found
        return {**self.cell.labels, **found} if found else self.cell.labels

    def view(self, layout: str = L.DEFAULT_LAYOUT) -> "View":
        L.check_layout(layout)
        if layout not in self._views:
            self._views[layout] = View(self, layout)
        return self._views[layout]

    def steps(self, kind: str = "differentials", layout: str = L.DEFAULT_LAYOUT) -> list:
        """The derivation step by step: ``"differentials"`` (Magnus–Neudecker,
        the trace trick) or ``"backprop"`` (the chain rule with δ's).  Each step
        has ``.latex``, ``.text`` and ``.rule``."""
        from .steps import build_steps

        return build_steps(self, kind, layout)

    def check(self, **kwargs) -> "CheckReport":
        from .verify import check_result

        return check_result(self, **kwargs)

    @property
    def latex(self) -> str:
        return self.view().latex

    @property
    def text(self) -> str:
        return self.view().text

    def __repr__(self) -> str:
        return f"<Result {self.kind}: {self.view().text}>"

    @cached_property
    def note(self) -> str:
        """One short line on the convention the result follows, or "": a
        derivative by a symmetric matrix is taken within symmetric matrices."""
        return self._note("text")

    @cached_property
    def note_latex(self) -> str:
        return self._note("latex")

    def _note(self, fmt: str) -> str:
        if not self.derivative.within_symmetric:
            return ""
        from .calculus.symmetric import convention_note

        name = self.request.wrt_name
        return convention_note(self.kind, name_text(name), name_latex(name), fmt)

    # names as printed on the left of '='
    @cached_property
    def of_latex(self) -> str:
        req = self.request
        if req.of_text in self.cell.definitions or req.of_text in self.cell.variables:
            return name_latex(req.of_text)
        return "\\left(" + to_latex(req.of, self.labels, expand_root=True) + "\\right)"

    @cached_property
    def of_plain(self) -> str:
        req = self.request
        if req.of_text in self.cell.definitions or req.of_text in self.cell.variables:
            return name_text(req.of_text)
        return "(" + to_text(req.of, self.labels, expand_root=True) + ")"


@dataclass
class View:
    """A derivative in one layout: LaTeX, text, shape, NumPy code, values."""

    result: Result
    layout: str

    @cached_property
    def expr(self) -> Expr | None:
        """The view as a matrix expression (None for index-only views)."""
        return L.matrix_form(self.result.derivative, self.layout, self.result.labels)

    @cached_property
    def index_form(self):
        """The entry-wise form, or None where plain indices cannot write it
        (e.g. a slice of a differential); the vec matrix stands in then."""
        from .calculus.index import NoIndexForm, index_form, kronecker_symbol

        cell = self.result.cell
        try:
            return index_form(self.result.derivative, self.result.labels,
                              kronecker_symbol({*cell.variables, *cell.definitions, *cell.dims}))
        except NoIndexForm:
            return None

    def _entry_of_vec(self, fmt: str) -> str:
        d = self.result.derivative
        if d.matrix is None:
            return "\\text{(no closed form)}" if fmt == "latex" else "(no closed form)"
        out, var = (L.index_dims(s.shape) for s in (d.of, d.wrt))
        letters = "ijkl"
        oi, vi = letters[:len(out)], letters[len(out):len(out) + len(var)]
        if d.kind == "hessian":
            oi, vi = letters[:len(var)], letters[len(var):2 * len(var)]
        if fmt == "latex":
            return f"\\left[{to_latex(d.matrix, self.result.labels)}\\right]_{{({','.join(oi)}),({','.join(vi)})}}"
        return f"[{to_text(d.matrix, self.result.labels)}][({','.join(oi)}),({','.join(vi)})]"

    @property
    def shape(self) -> tuple[str, ...]:
        """Sizes as strings: ('n+1', '1'), ('m', 'n')."""
        return tuple(dim_str(d).removeprefix("(").removesuffix(")") for d in self.symbolic_shape)

    @cached_property
    def symbolic_shape(self) -> tuple:
        return L.axes(self.result.derivative, self.layout)

    @cached_property
    def names(self) -> dict:
        """Printing names: the cell's own, plus δ₁, δ₂… for the parts of this
        result that are shared, printed twice or nested too deep (see
        render/naming.py)."""
        return self._naming[0]

    @cached_property
    def where(self) -> list:
        """[(name, node)] of the auxiliary names, in definition order; each is
        used by the printed result."""
        return self._naming[1]

    @cached_property
    def _naming(self) -> tuple[dict, list]:
        from .render.naming import view_names

        labels = self.result.labels
        if self.expr is None:
            return labels, []
        taken = set(self.result.cell.variables) | set(self.result.cell.definitions)
        return view_names(self.expr, labels, taken)

    def _where(self, fmt: str) -> str:
        if not self.where:
            return ""
        from .render.latex import LatexPrinter

        if fmt == "latex":
            printer = LatexPrinter(self.names)  # one printer: its name lookups are built once
            parts = [f"{name_latex(n)} = {printer.doprint(e, expand_root=True)}" for n, e in self.where]
            return " \\quad\\text{where}\\quad " + ",\\; ".join(parts)
        return ", where " + "; ".join(f"{n} = {text}" for n, text in self.where_text)

    @cached_property
    def where_text(self) -> list[tuple[str, str]]:
        """[(name, right-hand side)] of the where-parts as the text prints them."""
        from .render.text import TextPrinter

        printer = TextPrinter(self.names)  # one printer: its name lookups are built once
        return [(name_text(n), printer.doprint(e, expand_root=True)) for n, e in self.where]

    @cached_property
    def printed(self):
        """This view's printed text read back as cell input (every printed form
        is valid input): what the numeric check evaluates, see verify/printed.py."""
        from .verify.printed import read_back

        # layouts that print the same text (shape and denominator, often) share one reading
        key = (self.lhs_text if self.expr is None else self.expr.shape, self.rhs_text, tuple(self.where_text))
        cache = self.result._read_back
        if key not in cache:
            cache[key] = read_back(self)
        return cache[key]

    @cached_property
    def rhs_latex(self) -> str:
        if self.expr is not None:
            return to_latex(self.expr, self.names)
        if self.index_form is None:
            return self._entry_of_vec("latex")
        return self.index_form.latex(self.layout)

    @cached_property
    def rhs_text(self) -> str:
        if self.expr is not None:
            return to_text(self.expr, self.names)
        if self.index_form is None:
            return self._entry_of_vec("text")
        return self.index_form.text(self.layout)

    @cached_property
    def lhs_latex(self) -> str:
        r = self.result
        return L.lhs(r.derivative, self.layout, r.of_latex, name_latex(r.request.wrt_name), "latex")

    @cached_property
    def lhs_text(self) -> str:
        r = self.result
        return L.lhs(r.derivative, self.layout, r.of_plain, name_text(r.request.wrt_name), "text")

    @property
    def latex(self) -> str:
        return f"{self.lhs_latex} = {self.rhs_latex}{self._where('latex')}"

    @property
    def text(self) -> str:
        return f"{self.lhs_text} = {self.rhs_text}{self._where('text')}"

    @cached_property
    def numpy_code(self) -> str:
        """Self-contained NumPy code: inputs are the cell's variables as 2-D
        arrays; the last line assigns this view's array."""
        from .codegen import view_script
        from .codegen.names import result_name

        return view_script(self, result_name(self.result.request, self.result.cell))

    def subterms(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(text, latex, shape) of the result and of each factor and term in it,
        outermost first: what a reader checks the shapes of."""
        labels = self.names
        return [(to_text(e, labels), to_latex(e, labels), tuple(dim_str(d) for d in e.shape))
                for e in self.subterm_nodes()]

    def subterm_nodes(self) -> list[Expr]:
        """The nodes :meth:`subterms` prints, in its order: named terms are
        not opened, and three levels down is deep enough to read."""
        if self.expr is None:
            return []
        out, seen = [], set()
        labels = self.names

        def walk(e: Expr, depth: int):
            if e in seen or depth > 3:
                return
            seen.add(e)
            if e.op not in ("const", "broadcast"):
                out.append(e)
            if e in labels or e.op in ("var", "const", "eye", "ones", "zeros"):
                return
            for a in e.args:
                walk(a, depth + 1)

        walk(self.expr, 0)
        return out

    def evaluate(self, values: dict) -> np.ndarray:
        """The view's array at ``values`` (name → array); sizes come from them."""
        cell = self.result.cell
        env, sizes = bind(cell, values)
        refuse_huge(self.result, sizes)
        try:
            return self.evaluate_at(env, sizes)
        except ShapeError as e:
            missing = e.message.replace("no value for ", "").replace("no concrete size for ", "size ")
            raise MatcalcError(f"cannot evaluate {self.result.request.text}: missing {missing}") from None

    def evaluate_at(self, env: dict, sizes: dict, memo: dict | None = None) -> np.ndarray:
        """The view's array for bound values; ``memo`` (node → value) may be
        shared between views evaluated at the same point."""
        d = self.result.derivative
        if self.expr is not None:
            return evaluate(self.expr, env, sizes, memo)
        if d.matrix is not None:
            value = evaluate(d.matrix, env, sizes, memo)
        else:
            value = evaluate_matrix(d, env, sizes)
        return L.arrange(d, self.layout, L.tensor_from_matrix(d, value, sizes))

    def _repr_latex_(self) -> str:
        return "$$" + self.latex + "$$"

    def __repr__(self) -> str:
        return self.text


#: the largest derivative ``View.evaluate`` builds (400 MB of float64)
MAX_EVALUATE_ENTRIES = 50_000_000


def refuse_huge(result: "Result", sizes: dict) -> None:
    """A MatcalcError, before any allocation, if the derivative at ``sizes``
    has more than MAX_EVALUATE_ENTRIES entries."""
    req = result.request
    try:
        entries = derivative_entries(req.of.shape, req.wrt.shape, req.result_order, sizes)
    except ShapeError:
        return  # a size is missing: evaluating says which
    if entries > MAX_EVALUATE_ENTRIES:
        raise MatcalcError(
            f"cannot evaluate {req.text}: at these sizes the derivative has {entries:,} entries "
            f"({entries * 8 / 1e9:.0f} GB of float64)", req.span, result.cell.source,
            hint="evaluate it at smaller arrays, or use the result's formula")


def evaluate_matrix(d: Derivative, env: dict, sizes: dict) -> np.ndarray:
    """The value of the kind's matrix (K for tensors), even without a formula:
    then the differential is applied to each basis direction."""
    if d.matrix is not None:
        return evaluate(d.matrix, env, sizes)
    rows, cols = (concrete(x, sizes) for x in d.dx.shape)
    memo: dict = {}
    base = {k: v for k, v in env.items()}
    columns = []
    for j in range(cols):
        for i in range(rows):
            e = np.zeros((rows, cols))
            e[i, j] = 1.0
            base[d.dx.params[0]] = e
            # primal nodes are shared across directions: keep their values
            keep = {k: v for k, v in memo.items() if not _mentions_tangent(k, d.dx)}
            value = evaluate(d.differential, base, sizes, keep)
            memo.update(keep)
            columns.append(value.reshape(-1, order="F"))
    return np.stack(columns, axis=1)


def _mentions_tangent(node: Expr, dx: Expr) -> bool:
    from .graph import depends_on

    return depends_on(node, dx)


def _size_code(d) -> str:
    return str(d).replace(" ", "")


# ====================================================================== binding values
def bind(cell: CheckedCell, values: dict) -> tuple[dict, dict]:
    """Match arrays to declarations: (env name → 2-D array, sizes symbol → int).

    Sizes come from the arrays (``θ : n + 1`` given 5 entries binds n = 4);
    defined names get their values from their definitions, so a derivative by
    a defined name (∂J/∂θ) evaluates from the same inputs as the rest."""
    env: dict = {}
    sizes: dict = {}
    pending = []  # (name, declared size, actual) for compound sizes like n + 1
    values = {canonical_name(k) if isinstance(k, str) else k: v for k, v in values.items()}  # b_{1} is b_1
    for name, value in values.items():
        if name not in cell.variables:
            if name in cell.dims:
                sizes[cell.dims[name]] = int(value)
            continue  # unrelated names in a namespace are fine
        var = cell.variables[name]
        try:
            arr = as_matrix(value, tuple(1 if d == ONE else 0 for d in var.shape))
        except (TypeError, ValueError):
            raise MatcalcError(f"the value given for {name} is not a numeric array") from None
        if arr.ndim != 2:
            raise MatcalcError(f"the value given for {name} has {arr.ndim} axes; a matrix has 2")
        for axis, (declared, actual) in enumerate(zip(var.shape, arr.shape)):
            where = "rows" if axis == 0 else "columns"
            shapes = {name: f"{arr.shape[0]}×{arr.shape[1]}"}
            if declared.is_Integer:
                if int(declared) != actual:
                    raise MatcalcError(f"{name} is declared with {int(declared)} {where} but the array has {actual}",
                                       shapes=shapes)
            elif declared.is_Symbol:
                if declared in sizes and sizes[declared] != actual:
                    raise MatcalcError(
                        f"size {declared} is {sizes[declared]} from another array but {actual} from {name}",
                        shapes=shapes)
                sizes[declared] = actual
            else:
                pending.append((name, declared, actual))
        env[name] = arr
    for name, declared, actual in pending:
        unknown = [s for s in declared.free_symbols if s not in sizes]
        if len(unknown) == 1:
            import sympy

            solved = sympy.solve(sympy.Eq(declared, actual), unknown[0])
            if len(solved) == 1 and solved[0].is_Integer and solved[0] > 0:
                sizes[unknown[0]] = int(solved[0])
        want = declared.xreplace(sizes)
        if not want.is_Integer or int(want) != actual:
            size = dim_str(declared)
            size = size[1:-1] if size.startswith("(") and size.count("(") == 1 and size.endswith(")") else size
            raise MatcalcError(f"{name} should have size {size}"
                               + (f" = {want}" if want.is_Integer else "") + f", not {actual}")
    for name, arr in env.items():
        problem = _violated_property(cell.variables[name], arr)
        if problem:
            raise MatcalcError(f"{name} is declared {problem}", shapes={name: f"{arr.shape[0]}×{arr.shape[1]}"})
    for name, node in cell.definitions.items():
        if name not in env and name not in cell.variables:
            try:
                env[name] = evaluate(node, env, sizes)
            except (ShapeError, KeyError, ValueError):
                pass  # not all of its inputs were given: fine unless it is needed
    return env, sizes


def _violated_property(var: Expr, arr: np.ndarray) -> str | None:
    """What is wrong with an array given for a variable with properties."""
    from .graph import var_props
    from .ops.properties import ONEHOT_ROWS

    props = var_props(var)
    if not props or not np.all(np.isfinite(arr)):
        return None
    columns = arr.reshape(-1, 1) if (arr.shape[0] == 1 or arr.shape[1] == 1) else arr
    binary = np.all((arr == 0) | (arr == 1))
    if "onehot" in props and not (binary and np.all(columns.sum(axis=0) == 1)):
        per = "per column" if columns is arr else "in all"
        return f"onehot, but the array given is not one-hot (0s and a single 1 {per})"
    if ONEHOT_ROWS in props and not (binary and np.all(arr.sum(axis=1) == 1)):
        return "onehot rows, but the array given is not one-hot by rows (0s and a single 1 per row)"
    if "probability" in props and not (np.all(columns >= 0) and np.allclose(columns.sum(axis=0), 1)):
        return "probability, but the array given is not non-negative with entries summing to 1"
    if "positive" in props and not np.all(arr > 0):
        return "positive, but the array given has entries ≤ 0"
    if props & {"symmetric", "spd", "psd"} and not np.allclose(arr, arr.T):
        return "symmetric, but the array given is not"
    if "positive_definite" in props and not np.all(np.linalg.eigvalsh((arr + arr.T) / 2) > 0):
        return "spd, but the array given is not positive definite"
    if "invertible" in props and np.linalg.matrix_rank(arr) < arr.shape[0]:
        return "invertible, but the array given is singular"
    return None
