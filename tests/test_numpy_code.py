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
KNOWN = {
    "the code of a derivative by a defined name assigns the name to itself (theta = theta) instead of "
    "computing it from the inputs": [
        "CS224n-net-delta1-numerator",
        "CS224n-net-delta1-denominator",
        "CS224n-net-delta1-shape",
        "CS224n-net-delta1-index",
        "CS224n-net-delta1-vec",
        "CS224n-net-delta2-numerator",
        "CS224n-net-delta2-denominator",
        "CS224n-net-delta2-shape",
        "CS224n-net-delta2-index",
        "CS224n-net-delta2-vec",
        "Ng-dl-logreg-dz-numerator",
        "Ng-dl-logreg-dz-denominator",
        "Ng-dl-logreg-dz-shape",
        "Ng-dl-logreg-dz-index",
        "Ng-dl-logreg-dz-vec",
        "Ng-dl-vec-dZ-numerator",
        "Ng-dl-vec-dZ-denominator",
        "Ng-dl-vec-dZ-shape",
        "Ng-dl-vec-dZ-index",
        "Ng-dl-vec-dZ-vec",
        "Ng-dl-2layer-dZ2-numerator",
        "Ng-dl-2layer-dZ2-denominator",
        "Ng-dl-2layer-dZ2-shape",
        "Ng-dl-2layer-dZ2-index",
        "Ng-dl-2layer-dZ2-vec",
        "Ng-dl-2layer-dZ1-numerator",
        "Ng-dl-2layer-dZ1-denominator",
        "Ng-dl-2layer-dZ1-shape",
        "Ng-dl-2layer-dZ1-index",
        "Ng-dl-2layer-dZ1-vec",
        "Seed-001-dE-dx2-numerator",
        "Seed-001-dE-dx2-denominator",
        "Seed-001-dE-dx2-shape",
        "Seed-001-dE-dx2-index",
        "Seed-001-dE-dx2-vec",
    ],
    "the result's variable keeps a superscript of the request (dx²_dx, dX⁻¹…): not a Python identifier": [
        "Cookbook-131-norm-squared-numerator",
        "Cookbook-131-norm-squared-denominator",
        "Cookbook-131-norm-squared-shape",
        "Cookbook-131-norm-squared-index",
        "Cookbook-131-norm-squared-vec",
        "op-inv-⁻¹-X-numerator",
        "op-inv-⁻¹-X-denominator",
        "op-inv-⁻¹-X-shape",
        "op-inv-⁻¹-X-vec",
        "op-inv-⁻¹-a-numerator",
        "op-inv-⁻¹-a-denominator",
        "op-inv-⁻¹-a-shape",
        "op-inv-⁻¹-a-vec",
        "op-norm-squared-x-numerator",
        "op-norm-squared-x-denominator",
        "op-norm-squared-x-shape",
        "op-norm-squared-x-vec",
        "op-slice-norm-θ-numerator",
        "op-slice-norm-θ-denominator",
        "op-slice-norm-θ-shape",
        "op-slice-norm-θ-vec",
    ],
    "index and tensor code uses the sizes (np.eye(m), 1/m) without defining them from the inputs": [
        "Wikipedia-vv-identity-index",
        "Wikipedia-sm-trace-index",
        "Wikipedia-sm-product-rule-index",
        "Cookbook-74-XA-tensor-numerator",
        "Cookbook-74-XA-tensor-denominator",
        "Cookbook-74-XA-tensor-shape",
        "Cookbook-74-XA-tensor-index",
        "Cookbook-75-XTA-tensor-numerator",
        "Cookbook-75-XTA-tensor-denominator",
        "Cookbook-75-XTA-tensor-shape",
        "Cookbook-75-XTA-tensor-index",
        "Cookbook-99-trace-index",
        "CS224n-3-identity-index",
        "CS224n-4-relu-index",
        "CS224n-4-sigmoid-index",
        "CS224n-5-tensor-numerator",
        "CS224n-5-tensor-denominator",
        "CS224n-5-tensor-shape",
        "CS224n-5-tensor-index",
        "Ng-dl-vec-dw-index",
        "Ng-dl-2layer-dW1-index",
        "Ng-dl-2layer-db1-index",
        "Ng-ml-linreg-index",
        "Ng-ml-logreg-index",
        "Ng-ml-linreg-reg-index",
        "Ng-ml-logreg-reg-index",
    ],
    "θ : n + 1: the code uses n without deriving it from the inputs (n = θ.shape[0] - 1)": [
        "op-slice-vector-θ-numerator",
        "op-slice-vector-θ-denominator",
        "op-slice-vector-θ-shape",
        "op-slice-vector-θ-vec",
        "op-slice-index-θ-numerator",
        "op-slice-index-θ-denominator",
        "op-slice-index-θ-shape",
        "op-slice-index-θ-vec",
    ],
    "Kronecker products are written infix ('B.T np.kron A'): not valid Python": [
        "Cookbook-60-inverse-tensor-vec",
        "Cookbook-74-XA-tensor-vec",
        "Cookbook-75-XTA-tensor-vec",
        "CS224n-5-tensor-vec",
        "Seed-001-tensor-vec",
        "op-hessian-trace-quadratic-X-numerator",
        "op-hessian-trace-quadratic-X-denominator",
        "op-hessian-trace-quadratic-X-shape",
        "op-hessian-trace-quadratic-X-vec",
        "op-hessian-logdet-X-numerator",
        "op-hessian-logdet-X-denominator",
        "op-hessian-logdet-X-shape",
        "op-hessian-logdet-X-vec",
    ],
    "a named intermediate result the formula uses is never assigned (y = W x; δ2)": [
        "CS224n-net-delta-b1-denominator",
        "CS224n-net-delta-b1-shape",
        "Seed-001-answer-factor-2-numerator",
        "Seed-001-answer-factor-2-denominator",
        "Seed-001-answer-factor-2-shape",
        "Seed-001-answer-factor-2-vec",
        "Seed-001-answer-dx-numerator",
        "Seed-001-answer-dx-denominator",
        "Seed-001-answer-dx-shape",
        "Seed-001-answer-dx-vec",
    ],
    "index and tensor code omits the cell's definitions and helper functions (ŷ, a, x₂, softmax, σ)": [
        "CS224n-7-cross-entropy-index",
        "CS224n-net-b2-index",
        "CS224n-net-W-index",
        "CS224n-net-b1-index",
        "CS224n-net-x-index",
        "CS224n-net-delta-U-index",
        "CS224n-net-delta-b2-index",
        "CS224n-net-delta-W-index",
        "CS224n-net-delta-b1-index",
        "CS224n-net-delta-x-index",
        "CS224n-notes-b2-index",
        "CS224n-notes-W-index",
        "CS224n-notes-b1-index",
        "CS224n-notes-x-index",
        "Ng-dl-logreg-dw-index",
        "Seed-001-gradient-shape-index",
        "Seed-001-symbolic-index",
        "Seed-001-tensor-numerator",
        "Seed-001-tensor-denominator",
        "Seed-001-tensor-shape",
        "Seed-001-tensor-index",
    ],
    "index code drops the power of a scalar factor (1/‖x‖ becomes ‖x‖, 1/X becomes X): wrong numbers": [
        "Wikipedia-sv-norm-index",
        "Cookbook-62-det-inverse-index",
        "Cookbook-129-norm-index",
    ],
    "the denominator code of a tensor is the numerator code: axes not moved, wrong numbers": [
        "Cookbook-60-inverse-tensor-denominator",
    ],
    "the index code of an identically zero derivative gives a 0-d array instead of the view's shape": [
        "Wikipedia-vv-constant-index",
        "Wikipedia-sv-constant-index",
    ],
}


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
    for line in ("z = W @ x + b_1", "h = ", "theta = ", "yhat = "):
        assert line in code
    assert "def softmax" in code  # the helpers it needs are defined in the snippet


def test_code_does_not_import_the_package():
    for rid, cell, req, _, _ in REQUESTS[::7]:
        code = derived(cell)[req].view("shape").numpy_code
        assert "matcalc" not in code and "import numpy as np" in code
        assert all(line.startswith(("import numpy", "def ", " ", "")) for line in code.splitlines())


def _xf(reason):
    return pytest.mark.xfail(strict=True, reason="engine: " + reason)


# index and tensor code of some operator-table requests, one or two per kind of problem
INDEX_AND_TENSOR = [
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "numerator", id="AXB-numerator"),
    pytest.param("X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X", "index", id="AXB-index"),
    pytest.param(
        "X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X",
        "denominator",
        id="AXB-denominator",
        marks=_xf("the denominator code of a tensor is the numerator code: axes not moved"),
    ),
    pytest.param(
        "X : m x n; A : k x m; B : n x p\n∂(A X B)/∂X",
        "vec",
        id="AXB-vec",
        marks=_xf("Kronecker products are written infix ('B.T np.kron A'): not valid Python"),
    ),
    pytest.param(
        "x : n; W : m x n\n∂(W x)/∂W",
        "numerator",
        id="Wx-by-W-numerator",
        marks=_xf("index and tensor code uses the sizes (np.eye(m)) without defining them"),
    ),
    pytest.param(
        "X : m x n, positive\n∂(sum(ln(X)))/∂X",
        "index",
        id="ln-index",
        marks=_xf("index code drops the power of a scalar factor: 1/X[i,j] is computed as X"),
    ),
    pytest.param(
        "c : scalar; x : n\n∂(x / c)/∂c",
        "index",
        id="divide-by-scalar-index",
        marks=_xf("index code drops the power of a scalar factor: -c⁻² x is computed as c x"),
    ),
    pytest.param(
        "s : scalar; t : scalar\n∂(s t^2 + 3 t)/∂t",
        "index",
        id="scalar-index",
        marks=_xf("np.einsum is called without operands for a sum of constants (ValueError)"),
    ),
    pytest.param("x : n\n∂(sum(exp(x)))/∂x", "index", id="exp-index"),
    pytest.param("x : n; A : n x n\n∂²(x^T A x)/∂x²", "index", id="hessian-index"),
    pytest.param(
        "x : n\n∂²(logsumexp(x))/∂x²",
        "index",
        id="hessian-logsumexp-index",
        marks=_xf("index and tensor code uses the sizes (np.eye(n)) without defining them"),
    ),
    pytest.param(
        "A : m x n; B : p x q\n∂(kron(A, B))/∂A",
        "vec",
        id="kron-vec",
        marks=_xf("∂(A ⊗ B)/∂A has no closed form, and no code: AttributeError"),
    ),
]


@pytest.mark.parametrize("cell, layout", INDEX_AND_TENSOR)
def test_index_and_tensor_code(cell, layout, rng):
    v = derived(cell)[0].view(layout)
    values, _ = draw_values(parse_decls(cell), rng)
    np.testing.assert_allclose(run_code(v.numpy_code, values), v.evaluate(values), rtol=1e-9, atol=1e-10)
