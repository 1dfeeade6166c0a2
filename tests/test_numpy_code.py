"""``View.numpy_code`` is self-contained NumPy: executed with nothing but the
inputs (as 2-D arrays, under their Python names) it computes what the view
evaluates to.  Every request of the operator table and of the corpus, in
every layout."""

from __future__ import annotations

import ast
import functools
import re

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import LAYOUTS, draw_values, parse_decls
from corpus import cookbook, cs224n, ng, seeds, textbooks, wikipedia
from matcalc_magic.render.names import name_python
from test_op_table import CASES as OP_CASES


@functools.lru_cache(maxsize=None)
def derived(cell):
    return mm.derive(cell)


MATRIX_LAYOUTS = ("numerator", "denominator", "shape", "vec")


def requests():
    """(id, cell, request, fixed, layouts): the corpus in every layout; the
    operator table in the layouts that have a matrix formula (index and tensor
    code is covered through the corpus and the cases at the end)."""
    out = []
    for mod in (wikipedia, cookbook, cs224n, ng, seeds, textbooks):
        for e in mod.ENTRIES:
            if e.refused:
                continue
            out.append((f"{e.source}-{e.id}", e.cell, e.request, e.fixed, LAYOUTS))
    for row, w in OP_CASES:
        if row.crash:
            continue
        cell = row.cell(w)
        if derived(cell)[0].kind != "tensor":
            out.append((f"op-{row.id}-{w}", cell, 0, None, MATRIX_LAYOUTS))
    return out


REQUESTS = requests()

# engine problems: reason -> the views ("<request id>-<layout>") they break
KNOWN: dict = {}


def _target(code: str) -> str:
    last = ast.parse(code).body[-1]
    assert isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name), "the code ends in an assignment"
    return last.targets[0].id


def run_code(code: str, values: dict) -> np.ndarray:
    scope = {name_python(k): np.array(v, dtype=float) for k, v in values.items()}
    assert "import numpy as np" in code
    exec(compile(code, "<numpy_code>", "exec"), scope)
    return np.asarray(scope[_target(code)], dtype=float)


def _params():
    known = {view: reason for reason, views in KNOWN.items() for view in views}
    out = []
    for rid, cell, req, fixed, layouts in REQUESTS:
        for layout in layouts:
            view = f"{rid}-{layout}"
            marks = [pytest.mark.xfail(strict=True, reason="engine: " + known[view])] if view in known else []
            out.append(pytest.param(cell, req, fixed, layout, id=view, marks=marks))
    assert set(known) <= {p.id for p in out}, "KNOWN names a view that is not tested"
    return out


def inputs(cell: str, fixed=None) -> tuple[dict, dict]:
    """(values, sizes) to run a cell's code on: its inputs only, drawn at
    random; ``fixed`` overrides some."""
    decls = parse_decls(cell)
    values, sizes = draw_values(decls, np.random.default_rng(len(cell)))
    if fixed:
        values.update(fixed(values, sizes))
    return {k: val for k, val in values.items() if k in decls}, sizes


def expected(v, cell: str, values: dict, sizes: dict) -> np.ndarray:
    """What the view evaluates to (sizes like n + 1 are passed along, as
    they cannot be read off the arrays)."""
    compound = any(not re.fullmatch(r"\w+", d) for dims, _ in parse_decls(cell).values() for d in dims)
    return np.asarray(v.evaluate({**values, **(sizes if compound else {})}), dtype=float)


def assert_same(got, want):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("cell, req, fixed, layout", _params())
def test_numpy_code_computes_the_view(cell, req, fixed, layout):
    v = derived(cell)[req].view(layout)
    values, sizes = inputs(cell, fixed)
    assert_same(run_code(v.numpy_code, values), expected(v, cell, values, sizes))


def test_code_names_the_result_after_the_request():
    code = mm.derive("x : n; W : m x n; J = sum(tanh(W x)); ∂J/∂W")[0].view().numpy_code
    assert _target(code) == "dJ_dW"


def test_code_keeps_the_cells_names_for_intermediate_results():
    code = mm.derive(cs224n.NET)["∂J/∂W"].view().numpy_code
    for line in ("z = W @ x + b1", "h = ", "θ = ", "ŷ = "):  # the cell's own names
        assert line in code
    assert "def softmax" in code  # the helpers it needs are defined in the snippet


def test_code_does_not_import_the_package():
    for rid, cell, req, _, _ in REQUESTS[::7]:
        code = derived(cell)[req].view("shape").numpy_code
        assert "matcalc" not in code and "import numpy as np" in code
        assert all(line.startswith(("import numpy", "def ", " ", "")) for line in code.splitlines())


# index and tensor code of some operator-table requests: matrix-by-matrix, vector-by-matrix,
# powers of scalar factors, sums of constants, Hessians, Kronecker products
INDEX_AND_TENSOR = [
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "numerator", id="AXB-numerator"),
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "index", id="AXB-index"),
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "denominator", id="AXB-denominator"),
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "vec", id="AXB-vec"),
    pytest.param("x : n; W : m x n\n∂(W x)/∂W", "numerator", id="Wx-by-W-numerator"),
    pytest.param("X : m x n, positive\n∂(sum(ln(X)))/∂X", "index", id="ln-index"),
    pytest.param("c : scalar; x : n\n∂(x / c)/∂c", "index", id="divide-by-scalar-index"),
    pytest.param("s : scalar; t : scalar\n∂(s t^2 + 3 t)/∂t", "index", id="scalar-index"),
    pytest.param("x : n\n∂(sum(exp(x)))/∂x", "index", id="exp-index"),
    pytest.param("x : n; A : n x n\n∂²(x^T A x)/∂x²", "index", id="hessian-index"),
    pytest.param("x : n\n∂²(logsumexp(x))/∂x²", "index", id="hessian-logsumexp-index"),
    pytest.param("A : m x n; B : p x q\n∂(kron(A, B))/∂A", "vec", id="kron-vec"),
    pytest.param("A : m x n; B : p x q\n∂(kron(A, B))/∂B", "denominator", id="kron-denominator"),
]


@pytest.mark.parametrize("cell, layout", INDEX_AND_TENSOR)
def test_index_and_tensor_code(cell, layout, rng):
    v = derived(cell)[0].view(layout)
    values, _ = draw_values(parse_decls(cell), rng)
    np.testing.assert_allclose(run_code(v.numpy_code, values), v.evaluate(values), rtol=1e-9, atol=1e-10)


# views whose code once failed to run or gave the wrong array, in every layout
REGRESSIONS = [
    # a term constant along a free index: einsum needs an operand that carries it
    "X : n x n\n∂(sum(X, axis=1))/∂X",
    "X : m x n\n∂(sum(X, axis=0))/∂X",
    "X : m x n\n∂(sum(X, axis=1))/∂X",
    "X : m x n\n∂(mean(X, axis=0))/∂X",
    "X : m x n\n∂(mean(X, axis=1))/∂X",
    "W : m x n; A : n x k; b : m\n∂(W A + b)/∂b",
    "Z : m x k; r : 1 x k\n∂(Z + r)/∂r",
    "Z : m x k\n∂(log_softmax(Z, axis=0))/∂Z",
    "x : n\n∂(log_softmax(x))/∂x",
    "x : n\n∂(x / sum(x))/∂x",
    "x : n\n∂(mean(x) * sum(x ** 2))/∂x",
    "p : n, positive\nhessian(sum(log(p)) * sum(p), p)",
    # a single entry padded with zeros: the entry is a constant, not an array
    "θ : n + 1\n∂(θ[-1])/∂θ",
    "X : m x n\n∂(X[0, 0])/∂X",
    "x : n\n∂(x[0:1])/∂x",
    # a size only the reshape of the vec matrix uses
    "W : m x n; x : n\n∂(vec(W x x^T))/∂W",
    # a shared part (δ₁) that uses another one (δ₂) through its transpose
    "B : n x n; c : scalar\n∂(det(c (c (B + 5 eye(n))^{-1}) + 5 eye(n)))/∂B",
    # a constant result is a 1×1 array, not a Python number
    "c : scalar\n∂(3 c)/∂c",
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", REGRESSIONS, ids=lambda cell: cell.replace("\n", " | "))
def test_code_of_regressions(cell, layout):
    v = derived(cell)[0].view(layout)
    values, sizes = inputs(cell)
    assert_same(run_code(v.numpy_code, values), expected(v, cell, values, sizes))


# cells whose results' code, run together as ``--code`` shows it (one function), once
# assigned two results to one name
SEVERAL = [
    pytest.param("θ : n; μ : n\nJ = ‖θ - μ‖²\n∂J/∂θ\n∂J/∂μ", ("dJ_dθ", "dJ_dμ"), id="greek"),
    pytest.param("x : n; A : n x n\n∂(x^T A x)/∂x\nhessian(x^T A x, x)\n∂(x^T A x)/∂x",
                 ("dx_T_A_x_dx", "d2x_T_A_x_dx2", "dx_T_A_x_dx_2"), id="gradient-hessian-twice"),
    pytest.param("B : n x n; c : scalar\nf = det(c (c (B + 5 eye(n))^{-1}) + 5 eye(n))\n∂f/∂B\n∂f/∂c",
                 ("df_dB", "df_dc"), id="shared-parts"),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell, names", SEVERAL)
def test_code_of_several_results_runs_together(cell, names, layout):
    from matcalc_magic.display import CellOutput

    d = derived(cell)
    assert tuple(_target(r.view(layout).numpy_code) for r in d) == names
    values, sizes = inputs(cell)
    (code,) = CellOutput(d, code=True).code_lines(layout)
    scope: dict = {}
    exec(compile(code, "<code>", "exec"), scope)
    out = scope["derivatives"](**{name_python(k): v for k, v in values.items()})
    for r, name in zip(d, names):
        assert_same(np.asarray(out[name], dtype=float), expected(r.view(layout), cell, values, sizes))
