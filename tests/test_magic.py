"""The %%mderive / %mderive magics, driven through a real IPython shell.

Outputs are captured with ``capture_output``; a cell's success is what
``run_cell`` reports, so "Run All" and nbval see the same thing.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

import matcalc_magic as mm
from matcalc_magic.claims import ClaimFailed
from matcalc_magic.display import Values
from matcalc_magic.magics import CheckFailed, MderiveError

from cells import CS224N_CLAIMED as CS224N

WX = "W : m x n\nx : n\n∂(W x)/∂x\n"
SEED = "x : n\nW : m x n\ny = W x\nJ = y^T y\n∂J/∂W\n"
DECLARED = ("x", "W", "b1", "U", "b2", "y", "A", "G", "D", "n", "m", "k", "grads")
BADGE = "✓ checked numerically (3 random points, tol 1e-6)"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def shell():
    globalipapp.start_ipython()  # once per process; later calls return None
    ip = globalipapp.get_ipython()  # rebound to the shell's own get_ipython by start_ipython
    ip.run_line_magic("load_ext", "matcalc_magic")
    return ip


@pytest.fixture
def ip(shell):
    """The shell with a clean namespace and default settings (static output)."""
    magics = shell.magics_manager.registry["MatcalcMagics"]
    saved = (magics.layout, magics.widgets, magics.html, magics.points)
    for name in DECLARED:
        shell.user_ns.pop(name, None)
    magics.widgets = "never"
    yield shell
    magics.layout, magics.widgets, magics.html, magics.points = saved
    for name in DECLARED:
        shell.user_ns.pop(name, None)


def magics_of(ip):
    return ip.magics_manager.registry["MatcalcMagics"]


def run(ip, code: str):
    with capture_output() as cap:
        result = ip.run_cell(code)
    return result, cap


def bundles(cap) -> list[dict]:
    return [o.data for o in cap.outputs]


def the_bundle(cap) -> dict:
    (data,) = bundles(cap)
    return data


def visible_names(ip) -> set:
    hidden = {"In", "Out", "exit", "quit", "get_ipython"}
    return {k for k in ip.user_ns if not k.startswith("_") and k not in hidden}


# ====================================================================== the cell magic
def test_cs224n_cell(ip):
    result, cap = run(ip, "%%mderive\n" + CS224N)
    assert result.success
    data = the_bundle(cap)
    assert set(data) == {"text/plain", "text/latex", "text/html"}
    plain, latex, page = data["text/plain"], data["text/latex"], data["text/html"]
    d = mm.derive(CS224N)
    for r in d:
        v = r.view("shape")
        assert v.text in plain
        assert v.rhs_latex in latex
    assert "∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ\n    m×n · gradient · " + BADGE in plain
    assert "∂J/∂b2 = ŷ - y\n    k×1 · gradient · " + BADGE in plain
    assert plain.count(BADGE) == 5
    assert "claim ∂J/∂θ = ŷ - y  (line 14)\n    ✓ identical to the derived result" in plain
    # LaTeX: one MathJax display block
    assert latex.startswith("$$\\begin{aligned}\n") and latex.endswith("\n\\end{aligned}$$")
    assert "\\frac{\\partial J}{\\partial W} &= " in latex and "\\in m \\times n" in latex
    # HTML: every result in a Copy-LaTeX div holding its full equation
    divs = re.findall(r'<div class="mcm-derivation" data-latex="([^"]*)"', page)
    assert [html.unescape(x) for x in divs] == [r.view("shape").latex for r in d]
    assert page.count("$$") == 2 * (5 + 1)  # five results, one claim
    assert page.count(BADGE) == 5
    assert ">m×n</span>" in page


def test_output_is_deterministic_across_runs(ip):
    _, first = run(ip, "%%mderive --code\n" + CS224N)
    _, second = run(ip, "%%mderive --code\n" + CS224N)
    assert bundles(first) == bundles(second)


SUBPROCESS = r"""
import json, sys
from IPython.testing.globalipapp import get_ipython
from IPython.utils.capture import capture_output
ip = get_ipython()
ip.run_line_magic("load_ext", "matcalc_magic")
with capture_output() as cap:
    ip.run_cell(sys.stdin.read())
print(json.dumps([o.data for o in cap.outputs]))
"""


def test_output_is_deterministic_across_processes(ip):
    # a fresh interpreter with another hash seed (dict/set order, ids, addresses all differ)
    cell = "%%mderive --no-widget\n" + CS224N + "claim ∂J/∂W = x ((U^T (ŷ - y)) ⊙ relu'(z))^T\n"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", SUBPROCESS], input=cell, capture_output=True, text=True,
                         env=env, timeout=300, check=True)
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    _, cap = run(ip, cell)
    assert theirs == bundles(cap)
    assert "the transpose of the correct result" in theirs[0]["text/plain"]


def test_no_measured_error_digits_in_outputs(ip):
    _, cap = run(ip, "%%mderive\n" + CS224N)
    for text in the_bundle(cap).values():
        assert "max error" not in text
        assert not re.search(r"\d\.\d+e-(?!6\b)\d+", text), "a measured error leaked into the output"


def test_line_magic(ip):
    result, cap = run(ip, "%mderive x : n; A : n x n; ∂(x^T A x)/∂x")
    assert result.success
    plain = the_bundle(cap)["text/plain"]
    assert "∂(xᵀ A x)/∂x = (A + Aᵀ) x\n    n×1 · gradient · " + BADGE in plain
    # no line numbers for a one-line derivation with a claim
    result, cap = run(ip, "%mderive x : n; ∂(x^T x)/∂x; claim ∂(x^T x)/∂x = 2 x")
    assert result.success
    assert "claim ∂(x^T x)/∂x = 2 x\n    ✓ identical" in the_bundle(cap)["text/plain"]


def test_line_magic_keeps_primes_and_quotes_intact(ip):
    result, cap = run(ip, "%mderive --layout numerator z : n; ∂relu(z)/∂z; claim ∂relu(z)/∂z = diag(relu'(z))")
    assert result.success, cap.stdout
    assert "relu′(z)" in the_bundle(cap)["text/plain"]


@pytest.mark.parametrize("layout, rhs, shape", [
    ("numerator", "= W", "m×n"),
    ("denominator", "= Wᵀ", "n×m"),
    ("shape", "= W", "m×n"),
    ("index", "= W[i,j]", "m×n"),
    ("vec", "= W", "m×n"),
])
def test_layout_option(ip, layout, rhs, shape):
    result, cap = run(ip, f"%%mderive --layout {layout}\n" + WX)
    assert result.success
    data = the_bundle(cap)
    view = mm.derive(WX)[0].view(layout)
    assert view.text in data["text/plain"]
    assert data["text/plain"].splitlines()[1].endswith(rhs)
    assert f"    {shape} · jacobian · " in data["text/plain"]
    assert f'data-layout="{layout}"' in data["text/html"]
    assert mm.layouts.DESCRIPTIONS[layout] in data["text/plain"]


def test_default_layout_is_configurable(ip):
    ip.run_line_magic("config", "MatcalcMagics.layout = 'denominator'")
    _, cap = run(ip, "%%mderive\n" + WX)
    assert "= Wᵀ" in the_bundle(cap)["text/plain"]
    _, cap = run(ip, "%%mderive -l numerator\n" + WX)
    assert "∂(W x)/∂xᵀ = W\n" in the_bundle(cap)["text/plain"]


def test_unknown_layout_and_options_are_usage_errors(ip):
    result, cap = run(ip, "%%mderive --layout sideways\n" + WX)
    assert not result.success and "invalid choice: 'sideways'" in cap.stdout + cap.stderr
    result, cap = run(ip, "%%mderive --bogus\n" + WX)
    assert not result.success and "unrecognized arguments: --bogus" in cap.stdout + cap.stderr
    result, cap = run(ip, "%%mderive x : n\n" + WX)
    assert not result.success and "statements go in the cell body" in cap.stdout + cap.stderr
    result, cap = run(ip, "%mderive --layout numerator")
    assert not result.success and "%mderive needs statements" in cap.stdout + cap.stderr


def test_code_option_gives_the_cell_as_one_function(ip):
    result, cap = run(ip, "%%mderive --code\n" + CS224N)
    assert result.success
    data = the_bundle(cap)
    assert '<pre class="mcm-code"' in data["text/html"]
    code = data["text/plain"].split("\n\n", 1)[1]
    assert code.count("import numpy as np") == 1 and code.count("def derivatives(") == 1
    rng = np.random.default_rng(0)
    # the function takes the cell's variables by their own names, vectors also 1-D
    values = {"x": rng.standard_normal(4), "W": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1)),
              "U": rng.standard_normal((5, 3)), "b2": rng.standard_normal((5, 1)), "y": np.eye(5)[:, 2]}
    scope: dict = {}
    exec(code, scope)
    out = scope["derivatives"](**values)
    d = mm.derive(CS224N)
    assert np.allclose(out["dJ_dW"], d["∂J/∂W"].view("shape").evaluate(values))
    assert np.allclose(out["dJ_dx"], d["∂J/∂x"].view("shape").evaluate(values))


@pytest.mark.parametrize("line, backend", [("%%mderive --code torch", "torch"), ("%%mderive --code jax", "jax"),
                                           ("%%mderive --code numpy --no-widget", "numpy")])
def test_code_option_takes_a_backend(ip, line, backend):
    result, cap = run(ip, line + "\n" + CS224N)
    assert result.success
    code = the_bundle(cap)["text/plain"].split("\n\n", 1)[1]
    assert code.startswith({"torch": "import torch", "jax": "import jax", "numpy": "import numpy"}[backend])
    assert "def derivatives(x, W, b1, U, b2, y):" in code


def test_line_magic_code_option_keeps_the_statements(ip):
    result, cap = run(ip, "%mderive --code jax x : n; A : n x n; ∂(x^T A x)/∂x")
    assert result.success
    assert "def derivatives(x, A):" in the_bundle(cap)["text/plain"]


def test_latex_option_prints_raw_latex(ip):
    result, cap = run(ip, "%%mderive --latex\n" + SEED)
    assert result.success
    assert cap.stdout == ("\\begin{aligned}\n\\frac{\\partial J}{\\partial W} &= 2 y x^{\\top}\n"
                          "\\end{aligned}\n")


def test_check_option(ip, monkeypatch):
    calls = []
    original = mm.api.Result.check

    def counting(self, **kw):
        calls.append(kw)
        return original(self, **kw)

    monkeypatch.setattr(mm.api.Result, "check", counting)
    _, cap = run(ip, "%%mderive --no-check\n" + SEED)
    assert calls == []
    assert "m×n · gradient · not checked numerically" in the_bundle(cap)["text/plain"]
    _, cap = run(ip, "%%mderive --points 5\n" + SEED)
    assert [c["points"] for c in calls] == [5]
    assert "✓ checked numerically (5 random points, tol 1e-6)" in the_bundle(cap)["text/plain"]


def test_failed_numeric_check_shows_a_badge_without_digits(ip, monkeypatch):
    from matcalc_magic.verify import CheckReport

    def wrong(self, **kw):
        return CheckReport(self.request.text, False, 0.123456789, 1e-6, 3, {"shape": 0.123456789}, [],
                           "differs from finite differences in layout(s) shape")

    monkeypatch.setattr(mm.api.Result, "check", wrong)
    result, cap = run(ip, "%%mderive --name D\n" + SEED)
    plain = the_bundle(cap)["text/plain"]
    badge = "✗ numeric check failed (3 random points, tol 1e-6): differs from finite differences in layout(s) shape"
    assert badge in plain
    assert "0.12" not in plain
    # a wrong derivative is the worst bug: the cell fails, so Run All and nbval stop on it
    assert not result.success and isinstance(result.error_in_exec, CheckFailed)
    text = re.sub(r"\x1b\[[0-9;]*m", "", cap.stdout + cap.stderr)
    assert "CheckFailed: 1 result in %%mderive failed the numeric check\n  ∂J/∂W: " + badge in text
    assert "Traceback" not in text


def test_html_can_be_switched_off(ip):
    magics_of(ip).html = False
    _, cap = run(ip, "%%mderive\n" + SEED)
    assert set(the_bundle(cap)) == {"text/plain", "text/latex"}


# ====================================================================== the namespace
def test_namespace_untouched_without_name(ip):
    before = visible_names(ip)
    result, _ = run(ip, "%%mderive\n" + CS224N)
    assert result.success
    assert visible_names(ip) == before


def test_name_binds_the_derivation(ip):
    result, _ = run(ip, "%%mderive --name D\n" + CS224N)
    assert result.success
    D = ip.user_ns["D"]
    assert isinstance(D, mm.api.Derivation)
    assert [r.request.text for r in D] == ["∂J/∂U", "∂J/∂b2", "∂J/∂W", "∂J/∂b1", "∂J/∂x"]
    result, cap = run(ip, "%%mderive --name 2bad\n" + SEED)
    assert not result.success and "Python identifier" in cap.stdout + cap.stderr


def test_arrays_in_the_namespace_bind_the_sizes(ip):
    ip.user_ns.update(W=np.arange(12.0).reshape(4, 3), x=np.array([1.0, 2.0, -1.0]))
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert result.success
    plain = the_bundle(cap)["text/plain"]
    assert "sizes from your namespace (x, W): m = 4, n = 3" in plain
    assert "m×n = 4×3 · gradient · ✓ checked numerically (3 random points and your arrays, tol 1e-6)" in plain
    report = magics_of(ip).last_output.checks[0]
    assert report.ok and report.points == 4
    assert report.sizes[0] == {"m": 4, "n": 3}  # the first point is the user's


def test_arrays_too_big_to_check_are_skipped_and_said_so(ip):
    """∂(A A)/∂A at a 60×60 A has 60⁴ entries: the check runs at random small
    sizes only, and the badge says the user's arrays were left out."""
    ip.user_ns.update(A=np.eye(60))
    result, cap = run(ip, "%%mderive\nA : n x n\n∂(A A)/∂A\n")
    assert result.success
    plain = the_bundle(cap)["text/plain"]
    assert ("✓ checked numerically (3 random points; not at your arrays: too large to check numerically, "
            "tol 1e-6)") in plain


def test_arrays_with_nan_are_left_out_of_the_check_and_said_so(ip):
    ip.user_ns.update(x=np.array([np.nan, 1.0, 2.0]), A=np.eye(3))
    result, cap = run(ip, "%%mderive\nx : n\nA : n x n\n∂(x^T A x)/∂x\n")
    assert result.success
    assert "(3 random points; not at your arrays: the arrays hold NaN or inf, tol 1e-6)" in the_bundle(cap)["text/plain"]


def test_values_that_are_not_real_numbers_are_not_bound(ip):
    ip.user_ns.update(x=10**400, A=np.eye(3) + 0j)  # past float64; complex
    result, cap = run(ip, "%%mderive\nx : n\nA : n x n\n∂(x^T A x)/∂x\n")
    assert result.success and "sizes from your namespace" not in the_bundle(cap)["text/plain"]


def test_namespace_sizes_that_empty_a_declaration_are_one_error(ip):
    ip.user_ns.update(n=1)
    result, cap = run(ip, "%%mderive\nx : n - 1\n∂(x^T x)/∂x\n")
    text = cap.stdout + cap.stderr
    assert not result.success and "Traceback" not in text
    assert "with the sizes from your namespace (n = 1), x would be 0×1: a size must be at least 1" in text


def test_eval_refuses_a_derivative_too_big_to_hold(ip):
    ip.user_ns.update(x=np.ones(1000), A=np.eye(1000))
    result, cap = run(ip, "%%mderive --eval --no-check\nx : n\nA : n x n\n∂(A x)/∂A\n")
    text = cap.stdout + cap.stderr
    assert not result.success and "Traceback" not in text
    assert "at these sizes the derivative has 1,000,000,000 entries (8 GB of float64)" in text


def test_a_size_variable_in_the_namespace_binds_too(ip):
    ip.user_ns.update(n=5, m=3.7)  # a float is not a size
    _, cap = run(ip, "%%mderive\nx : n\nA : m x n\n∂(x^T A^T A x)/∂x\n")
    plain = the_bundle(cap)["text/plain"]
    assert "sizes from your namespace (n): n = 5" in plain
    assert "n×1 = 5×1 · gradient · ✓ checked numerically (3 random points and your sizes, tol 1e-6)" in plain
    report = magics_of(ip).last_output.checks[0]
    assert report.sizes[0] == {"m": 2, "n": 5}  # m: the smallest size not taken, not int(3.7)


def test_arrays_that_disagree_are_one_error_naming_both(ip):
    ip.user_ns.update(W=np.ones((4, 5)), x=np.ones(3))
    before = visible_names(ip)
    result, cap = run(ip, "%%mderive --name D\n" + SEED)
    assert not result.success
    assert isinstance(result.error_in_exec, MderiveError)
    text = cap.stdout + cap.stderr
    assert "your arrays disagree on the size n: x is 3×1 (n = 3) but W is 4×5 (n = 5)" in text
    assert "shapes: x is 3×1, W is 4×5" in text
    assert "3 | W : m x n" in text  # the declaration of the second array, with a caret
    assert "Traceback" not in text and 'File "' not in text
    assert visible_names(ip) == before  # D not bound
    # --no-bind ignores them
    result, cap = run(ip, "%%mderive --no-bind\n" + SEED)
    assert result.success and "sizes from your arrays" not in the_bundle(cap)["text/plain"]


def test_array_with_the_wrong_rank(ip):
    ip.user_ns.update(x=np.ones((3, 2)))
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert not result.success
    assert "x is declared n×1 but the array x in your namespace is 3×2" in cap.stdout + cap.stderr


def test_eval_returns_and_binds_the_derivatives(ip):
    A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [4.0, 0.0, 1.0]])
    x = np.array([1.0, -1.0, 2.0])
    ip.user_ns.update(A=A, x=x)
    result, cap = run(ip, "grads = %mderive --eval --name G x : n; A : n x n; ∂(x^T A x)/∂x; hessian(x^T A x, x)")
    assert result.success, cap.stdout
    grads = ip.user_ns["grads"]
    assert isinstance(grads, Values) and grads is ip.user_ns["G"]
    assert list(grads) == ["∂(x^T A x)/∂x", "hessian(x^T A x, x)"]
    assert np.allclose(grads["∂(x^T A x)/∂x"], ((A + A.T) @ x).reshape(3, 1))
    assert np.allclose(grads["hessian(x^T A x, x)"], A + A.T)
    assert isinstance(grads.derivation, mm.api.Derivation)
    assert "∂(x^T A x)/∂x  (3×1) =" in repr(grads)


def test_eval_in_a_layout(ip):
    W = np.arange(6.0).reshape(2, 3)
    ip.user_ns.update(W=W, x=np.ones(3))
    result, _ = run(ip, "%%mderive --eval --name G --layout denominator\n" + WX)
    assert result.success
    assert np.array_equal(ip.user_ns["G"]["∂(W x)/∂x"], W.T)
    assert result.result is ip.user_ns["G"]


def test_eval_without_arrays_is_an_error(ip):
    result, cap = run(ip, "%mderive --eval --name G x : n; W : m x n; ∂(W x)/∂x")
    assert not result.success
    assert "--eval needs arrays for W, x and the sizes m, n from your namespace" in cap.stdout + cap.stderr
    assert "G" not in ip.user_ns


# ====================================================================== errors
def test_shape_error_is_one_message_with_a_caret(ip):
    before = visible_names(ip)
    result, cap = run(ip, "%%mderive --name D\nx : n\nW : m x n\nz = x W\n∂z/∂x\n")
    assert not result.success
    assert isinstance(result.error_in_exec, MderiveError)
    text = cap.stdout + cap.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "MatcalcError in %%mderive: line 4, column 5: x W: x is n×1, W is m×n: inner sizes 1 and m differ" in plain
    assert "4 | z = x W\n        ^^^\n" in plain  # the cell's own line 4, caret under the span
    assert "shapes: x is n×1, W is m×n" in plain
    assert "Traceback" not in plain and 'File "' not in plain
    assert cap.outputs == []
    assert visible_names(ip) == before
    # the kernel goes on
    result, _ = run(ip, "%%mderive\n" + SEED)
    assert result.success


def test_syntax_error_in_the_line_magic(ip):
    result, cap = run(ip, "%mderive x : n; ∂(x^T x)/∂y")
    assert not result.success
    plain = re.sub(r"\x1b\[[0-9;]*m", "", cap.stdout + cap.stderr)
    assert "MatcalcError in %mderive: cannot differentiate by y" in plain
    assert "  | x : n; ∂(x^T x)/∂y\n" in plain
    assert plain.split("\n")[2].rstrip().endswith("^")
    assert "Traceback" not in plain


# ====================================================================== claims
def test_true_claim_passes(ip):
    result, cap = run(ip, "%%mderive\n" + CS224N)
    assert result.success
    assert "✓ identical to the derived result" in the_bundle(cap)["text/html"]


def test_false_claim_fails_the_cell_after_showing_the_output(ip):
    result, cap = run(ip, "%%mderive --name D\n" + SEED + "claim ∂J/∂W = y x^T\n")
    assert not result.success
    assert isinstance(result.error_in_exec, ClaimFailed)
    data = the_bundle(cap)  # the derivation and the verdict are shown first
    assert "✗ off by a constant factor 2 (the correct result is 2 × the claim)" in data["text/plain"]
    assert 'class="mcm-claim mcm-failed"' in data["text/html"]
    assert "\\text{✗ off by a constant factor 2" in data["text/latex"]
    text = re.sub(r"\x1b\[[0-9;]*m", "", cap.stdout + cap.stderr)
    assert "ClaimFailed: 1 false claim in %%mderive" in text
    assert "✗ claim ∂J/∂W = y x^T (line 7)" in text
    assert "derived: ∂J/∂W = 2 y xᵀ" in text
    assert "Traceback" not in text and 'File "' not in text
    # the derivation itself is sound, so --name still binds it for inspection
    assert isinstance(ip.user_ns["D"], mm.api.Derivation)


def test_claim_verdict_follows_the_cells_layout(ip):
    claim = "claim ∂J/∂W = 2 x y^T\n"
    result, cap = run(ip, "%%mderive\n" + SEED + claim)
    assert not result.success
    assert ("the transpose of the correct result (this is the numerator-layout answer; "
            "the cell uses the shape convention)") in the_bundle(cap)["text/plain"]
    result, _ = run(ip, "%%mderive --layout numerator\n" + SEED + claim)
    assert result.success


def test_claims_are_checked_at_the_users_arrays(ip):
    ip.user_ns.update(W=np.ones((2, 3)), x=np.ones(3))
    result, cap = run(ip, "%%mderive\n" + SEED + "claim ∂J/∂W = 2 y x^T\n")
    assert result.success
    assert "(and equal at 3 random points and at your arrays)" in the_bundle(cap)["text/plain"]


# ====================================================================== steps
def test_steps_option_shows_both_derivations(ip):
    result, cap = run(ip, "%%mderive --steps\n" + SEED)
    assert result.success
    data = the_bundle(cap)
    r = mm.derive(SEED)[0]
    for kind in ("differentials", "backprop"):
        try:
            steps = r.steps(kind, "shape")
        except ImportError:  # a part of the steps package not there yet: the note says so
            assert f"{kind} steps: step-by-step derivations are not available" in data["text/plain"]
            continue
        assert steps, kind
        assert f"∂J/∂W — {kind}:" in data["text/plain"]
        for s in steps:
            assert s.text in data["text/plain"]
        assert 'class="mcm-step"' in data["text/html"]
    assert "∂J/∂W = 2 y xᵀ" in data["text/plain"]


def test_steps_option_without_the_steps_module_shows_a_note(ip, monkeypatch):
    monkeypatch.setitem(sys.modules, "matcalc_magic.steps", None)  # import → ImportError
    result, cap = run(ip, "%%mderive --steps\n" + SEED + "∂J/∂x\n")
    assert result.success
    data = the_bundle(cap)
    note = "step-by-step derivations are not available in this installation"
    assert data["text/plain"].count(note) == 2  # once per kind, not once per result
    assert note in data["text/html"]
    assert "∂J/∂W = 2 y xᵀ" in data["text/plain"]  # the results are still there


# ====================================================================== widget or static
def test_plain_ipython_gets_the_static_bundle(ip):
    magics_of(ip).widgets = "auto"
    _, cap = run(ip, "%%mderive\n" + WX)
    assert set(the_bundle(cap)) == {"text/plain", "text/latex", "text/html"}
    assert magics_of(ip).last_widget is None


def test_a_kernel_gets_the_derivation_output_and_the_widget_beside_it(ip, monkeypatch):
    from matcalc_magic.payload import DERIVATION_MIME, WIDGET_MIME
    from matcalc_magic.widgets import PLAIN

    magics_of(ip).widgets = "auto"
    monkeypatch.setattr(ip, "kernel", object(), raising=False)
    _, cap = run(ip, "%%mderive --layout numerator\n" + WX)
    shown, widget = cap.outputs
    # the derivation is a plain output: whole without any widget model …
    assert WIDGET_VIEW not in shown.data
    static = magics_of(ip).last_output.bundle("numerator")
    for mime in ("text/plain", "text/html", "text/latex"):
        assert shown.data[mime] == static[mime]
    # … with every layout as data beside it, for a toggle that needs no kernel
    payload = shown.data[DERIVATION_MIME]
    assert payload["layout"] == "numerator"
    assert payload["views"]["numerator"] == static
    assert "= W^{\\top}" in payload["views"]["denominator"]["text/latex"]
    # the live widget is a second output, marked as ours
    w = magics_of(ip).last_widget
    assert widget.data[WIDGET_VIEW]["model_id"] == w.model_id
    assert widget.data[WIDGET_MIME] == {"version": 1} and widget.data["text/plain"] == PLAIN
    # its toggle re-publishes the derivation's output in place, in the new layout
    display_id = shown.transient["display_id"]
    with capture_output() as cap:
        w.toggle.set_state({"index": mm.LAYOUTS.index("denominator")})
    (update,) = cap.outputs
    assert update.update and update.transient["display_id"] == display_id
    assert "∂(W x)ᵀ/∂x = Wᵀ" in update.data["text/plain"]
    assert update.data[DERIVATION_MIME]["layout"] == "denominator"
    # --no-widget, or widgets = "never": the static output alone
    for cell, setting in (("%%mderive --no-widget\n" + WX, "auto"), ("%%mderive\n" + WX, "never")):
        magics_of(ip).widgets = setting
        _, cap = run(ip, cell)
        assert set(the_bundle(cap)) == {"text/plain", "text/latex", "text/html"}


def test_help_has_examples(ip):
    doc = ip.find_line_magic("mderive").__doc__
    assert "%mderive x : n; A : n x n; ∂(x^T A x)/∂x" in doc
    assert "--layout" in doc and "--no-widget" in doc and "--eval" in doc
    _, cap = run(ip, "%mderive?")
    assert "claim ∂J/∂W = (softmax(z) - y) x^T" in cap.stdout
