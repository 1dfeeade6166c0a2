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
from corpus import cookbook, cs224n, ng, seeds, wikipedia
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
    for mod in (wikipedia, cookbook, cs224n, ng, seeds):
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


@pytest.mark.parametrize("cell, req, fixed, layout", _params())
def test_numpy_code_computes_the_view(cell, req, fixed, layout):
    r = derived(cell)[req]
    v = r.view(layout)
    decls = parse_decls(cell)
    rng = np.random.default_rng(len(cell))
    values, sizes = draw_values(decls, rng)
    if fixed:
        values.update(fixed(values, sizes))
    values = {k: val for k, val in values.items() if k in decls}  # the inputs only
    compound = any(not re.fullmatch(r"\w+", d) for dims, _ in decls.values() for d in dims)
    want = np.asarray(v.evaluate({**values, **(sizes if compound else {})}), dtype=float)
    got = run_code(v.numpy_code, values)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


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
