"""The numeric check's witness: the cell as written, evaluated from its syntax tree.

A simplification bug is differentiated *and* simplified into the function the
engine holds, so a check that took the engine's graph as its reference would
pass it.  These tests break a rule on purpose and show that the check, which
reads the cell as written, fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from matcalc_magic.evaluate import evaluate
from matcalc_magic.ops import build as B
from matcalc_magic.ops.registry import rule
from matcalc_magic.verify.witness import Reference, Written
from matcalc_magic.syntax import parse


@pytest.fixture
def transpose_of_product_unreversed(monkeypatch):
    """A wrong canonicalisation: (A B)ᵀ → Aᵀ Bᵀ (the order is not reversed)."""
    r = rule("transpose")
    original = r.canon

    def broken(args, params):
        (a,) = args
        if a.op == "matmul" and not a.is_scalar:
            return B.matmul(*(B.transpose(f) for f in a.args))
        return original(args, params)

    monkeypatch.setattr(r, "canon", broken)


def test_a_broken_canonicalisation_is_caught(transpose_of_product_unreversed):
    cell = "Pw, Qw, Cw : n x n\nfw = tr((Pw Qw)^T Cw)\n∂fw/∂Pw"
    res = mm.derive(cell)[0]
    report = res.check(points=2)
    assert not report.ok
    assert "differs from finite differences" in report.message

    # The engine's own graph carries the same mistake, so finite differences
    # of it agree with the wrong derivative: a check built on it would pass.
    rng = np.random.default_rng(0)
    n = 4
    env = {k: rng.standard_normal((n, n)) for k in ("Pw", "Qw", "Cw")}
    sizes = {res.cell.dims["n"]: n}
    grad = res.view("shape").evaluate(env)
    h, e = 1e-6, np.zeros((n, n))
    e[1, 2] = 1.0

    def graph_f(p):
        return evaluate(res.request.of, {**env, "Pw": p}, sizes)[0, 0]

    def written_f(p):
        return Written(res.cell.program, res.request.of_node, "Pw", env, {"n": n})(p)[0, 0]

    graph_fd = (graph_f(env["Pw"] + h * e) - graph_f(env["Pw"] - h * e)) / (2 * h)
    written_fd = (written_f(env["Pw"] + h * e) - written_f(env["Pw"] - h * e)) / (2 * h)
    assert graph_fd == pytest.approx(grad[1, 2], rel=1e-6)
    assert written_fd != pytest.approx(grad[1, 2], rel=1e-3)
    assert written_fd == pytest.approx((env["Cw"] @ env["Qw"].T)[1, 2], rel=1e-6)  # ∇ tr(Qᵀ Pᵀ C) = C Qᵀ


def test_the_witness_reads_the_cell_as_written():
    text = "x : n\nW : m x n\nb : m\nz = W x + b\nh = relu(z)\nJ = sum(h ⊙ h) + log det(W W^T) + ‖x‖²"
    prog = parse(text)
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((4, 1)), rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    ref = Reference(prog, {"x": x, "W": W, "b": b}, {"m": 3, "n": 4})
    z = W @ x + b
    expected = np.sum(np.maximum(z, 0) ** 2) + np.linalg.slogdet(W @ W.T)[1] + (x.T @ x).item()
    assert ref.name("J")[0, 0] == pytest.approx(expected)


def test_a_defined_name_varies_with_its_inputs_fixed():
    text = "x : n\nW : m x n\nz = W x\nJ = sum(exp(z)) + sum(W)"
    prog = parse(text)
    rng = np.random.default_rng(2)
    env = {"x": rng.standard_normal((4, 1)), "W": rng.standard_normal((3, 4))}
    f = Written(prog, prog.statements[-1].value, "z", env, {"m": 3, "n": 4})
    z = rng.standard_normal((3, 1))
    assert f(z)[0, 0] == pytest.approx(np.sum(np.exp(z)) + np.sum(env["W"]))


def test_a_claim_is_read_as_written(transpose_of_product_unreversed):
    """With the broken rule the engine reads the derivative and the claim the
    same wrong way and would agree with itself; read as written, the claim
    (which is right) and the derived result (which is not) disagree, and the
    check fails: no ✓ anywhere."""
    from matcalc_magic.claims import check_claims

    cell = "Pw, Qw, Cw : n x n\nfw = tr((Pw Qw)^T Cw)\n∂fw/∂Pw\nclaim ∂fw/∂Pw = (Qw Cw^T)^T"
    d = mm.derive(cell)
    (verdict,) = check_claims(d, points=2)
    assert not verdict.ok
    assert not d[0].check(points=2).ok


def test_a_claim_holds_when_written_right():
    from matcalc_magic.claims import check_claims

    d = mm.derive("Pw, Qw, Cw : n x n\nfw = tr((Pw Qw)^T Cw)\n∂fw/∂Pw\nclaim ∂fw/∂Pw = (Qw Cw^T)^T")
    (verdict,) = check_claims(d, points=2)
    assert verdict.ok, verdict.diagnosis


# ---------------------------------------------------------------- values shared at one point
def test_definitions_shared_at_one_point_are_never_reused_at_another():
    """The readings of one point share the cell's definitions (PointValues);
    a reading at other values, with other sizes, or with a where-part that
    redefines a name a definition reads, computes its own."""
    from matcalc_magic.verify.witness import PointValues

    prog = parse("x : n\nz = 2 x\nh = z + x\nJ = sum(h)")
    sizes = {"n": 3}
    env = {"x": np.ones((3, 1))}
    point = PointValues(prog, env, sizes)
    assert Reference(prog, env, sizes, point=point).name("h")[0, 0] == 3.0
    assert set(point.values) == {"z", "h"}
    # the next reading at this point takes them as they are
    point.values["h"] = np.full((3, 1), 99.0)  # (marked, to see where a value comes from)
    assert Reference(prog, env, sizes, point=point).name("h")[0, 0] == 99.0
    # another point: equal keys, other values, not the same objects
    other = {"x": np.full((3, 1), 2.0)}
    assert Reference(prog, other, sizes, point=point).name("h")[0, 0] == 6.0
    assert Reference(prog, dict(env), sizes, point=point).name("h")[0, 0] == 3.0
    assert Reference(prog, env, dict(sizes), point=point).name("h")[0, 0] == 3.0
    assert Reference(prog, env, sizes, given={"z": np.zeros((3, 1))}, point=point).name("h")[0, 0] == 1.0
    # a printed where-part that redefines x: h and z read it, so neither is shared
    extra = {"x": parse("x9 = 5").statements[0].value}
    assert Reference(prog, env, sizes, extra=extra, point=point).name("h")[0, 0] == 15.0
    assert point.values["h"][0, 0] == 99.0  # and nothing it computed went back into the point


def test_a_printed_form_right_at_the_first_point_only_fails_the_check(monkeypatch):
    """Each point's printed readings are its own: a printed formula that is
    right at the first point and wrong at the later ones fails the check, and
    every point reads it again."""
    from matcalc_magic.verify.printed import PrintedForm

    r = mm.derive("x : n\nW : m x n\nb : m\nz = W x + b\nJ = sum(tanh(z))\n∂J/∂W")[0]
    assert r.check(points=3).ok
    original = PrintedForm.value
    points = []

    def right_once(self, env, sizes, given=None, point=None):
        out = original(self, env, sizes, given, point)
        if not any(env is seen for seen in points):
            points.append(env)
        return out if env is points[0] else out * 1.001

    monkeypatch.setattr(PrintedForm, "value", right_once)
    report = r.check(points=3)
    assert not report.ok
    assert "printed formula (read back) differs" in report.message
    assert len(points) == 3
