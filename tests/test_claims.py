"""Claims: ``claim ∂J/∂W = …`` judged symbolically and numerically, with a diagnosis.

The expected verdicts are worked out by hand from the definitions (e.g. for
J = yᵀy, y = W x the gradient is 2 y xᵀ), and the numeric side is checked
independently here with NumPy where it matters.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import matcalc_magic as mm
from matcalc_magic.claims import ClaimFailed, check_claims, gather

from cells import CS224N

# the seed question: J = yᵀ y with y = W x, so ∂J/∂W = 2 y xᵀ (m×n) and ∂J/∂x = 2 Wᵀ y (n×1)
SEED = """x : n
W : m x n
y = W x
J = y^T y
"""


def verdicts(text: str, layout: str = "shape", **kw):
    return check_claims(mm.derive(text, layout), **kw)


def one(text: str, layout: str = "shape", **kw):
    (v,) = verdicts(text, layout, **kw)
    return v


# ====================================================================== true claims
def test_cs224n_output_gradient_is_identical():
    v = one(CS224N + "claim ∂J/∂θ = ŷ - y\n")
    assert v.ok and v.status == "identical"
    assert v.diagnosis == "identical to the derived result (and equal at 3 random points)"
    assert v.points == 3


def test_cs224n_hidden_gradient_with_primes_is_identical():
    v = one(CS224N + "claim ∂J/∂W = ((U^T (ŷ - y)) ⊙ relu'(z)) x^T\n")
    assert v.ok and v.status == "identical"


def test_sum_in_other_order_is_identical():
    v = one("x : n\nA : n x n\nclaim ∂(x^T A x)/∂x = x^T A^T + x^T A\n", "numerator")
    assert v.ok, v.diagnosis


def test_equal_but_not_the_same_expression_is_true_numerically():
    v = one("x : n\nA : n x n\nclaim ∂(x^T A x)/∂x = A x + A^T x\n")
    assert v.ok and v.status == "equal"
    assert v.diagnosis == "equal to the derived result at 3 random points"


def test_a_true_claim_is_false_without_the_onehot_property():
    # ∂CE(y, softmax θ)/∂θ = softmax(θ) (1ᵀy) - y: ŷ - y needs Σy = 1, which one-hot gives
    with_prop = one("θ : k\ny : k, onehot\nJ = CE(y, softmax(θ))\nclaim ∂J/∂θ = softmax(θ) - y\n")
    assert with_prop.ok
    without = one("θ : k\ny : k\nJ = CE(y, softmax(θ))\nclaim ∂J/∂θ = softmax(θ) - y\n")
    assert not without.ok and without.status == "different"


# ====================================================================== diagnoses
def test_seed_claim_is_off_by_a_factor_two():
    v = one(SEED + "claim ∂J/∂W = y x^T\n")
    assert not v.ok and v.status == "factor"
    assert v.factor == Fraction(2)
    assert v.diagnosis == "off by a constant factor 2 (the correct result is 2 × the claim)"
    assert v.expected_text == "∂J/∂W = 2 y xᵀ"


def test_factor_reads_the_right_way_round_and_sign():
    v = one(SEED + "claim ∂J/∂W = 4 y x^T\n")
    assert v.factor == Fraction(1, 2)
    assert "off by a constant factor 2 (the claim is 2 × the correct result)" == v.diagnosis
    v = one(SEED + "claim ∂J/∂W = -2 y x^T\n")
    assert v.factor == -1 and v.diagnosis.startswith("off by a sign")
    v = one(SEED + "claim ∂J/∂W = (2/3) y x^T\n")
    assert v.factor == Fraction(3) and "factor 3" in v.diagnosis


def test_transpose_names_the_layout_it_is_right_in():
    v = one(SEED + "claim ∂J/∂W = 2 x y^T\n")
    assert not v.ok and v.status == "transpose"
    assert v.diagnosis == ("the transpose of the correct result (this is the numerator-layout answer; "
                           "the cell uses the shape convention)")
    assert v.matching_layouts == ("numerator",)


def test_transpose_in_a_numerator_cell():
    v = one(SEED + "claim ∂J/∂W = 2 y x^T\n", "numerator")
    assert v.status == "transpose"
    assert "(this is the denominator-layout answer; the cell uses the numerator layout)" in v.diagnosis
    # and the numerator-layout answer is right there
    assert one(SEED + "claim ∂J/∂W = 2 x y^T\n", "numerator").ok


def test_transpose_of_a_vector_gradient():
    v = one(SEED + "claim ∂J/∂x = 2 y^T W\n")
    assert v.status == "transpose" and "numerator-layout answer" in v.diagnosis


def test_transpose_and_factor_together():
    v = one(SEED + "claim ∂J/∂W = x y^T\n")
    assert v.status == "transpose" and v.factor == 2
    assert v.diagnosis == "the transpose of the correct result, off by a constant factor 2 (the correct result is 2 × the claim)"


def test_square_transpose_is_found_numerically():
    # same shape n×n both ways round: only the values tell
    v = one("x : n\nB : n x n\nJ = x^T B x + x^T B B x\nclaim ∂J/∂B = x x^T + B^T x x^T + x x^T B^T\n")
    assert v.ok, v.diagnosis
    v = one("x : n\nB : n x n\nu : n\nJ = x^T B u\nclaim ∂J/∂B = u x^T\n")
    assert v.status == "transpose", v.diagnosis


def test_vec_layout_answer():
    v = one(SEED + "claim ∂J/∂W = vec(2 y x^T)^T\n")
    assert v.status == "layout"
    assert "(this is the vec-layout answer; the cell uses the shape convention)" in v.diagnosis
    assert one(SEED + "claim ∂J/∂W = vec(2 y x^T)^T\n", "vec").ok


def test_wrong_shape():
    v = one(SEED + "claim ∂J/∂x = y\n")
    assert not v.ok and v.status == "shape"
    assert v.diagnosis == "wrong shape: m×1 where n×1 is needed"


def test_plainly_different_with_a_deterministic_error():
    text = "x : n\nA : n x n\nclaim ∂(x^T A x)/∂x = 2 A x\n"
    v = one(text)
    assert not v.ok and v.status == "different"
    assert v.diagnosis.startswith("differs from the derived result: max error ")
    assert "at a random point (n = " in v.diagnosis
    assert v.max_error > 1e-3
    # same text and seed: same verdict, digit for digit
    assert one(text).diagnosis == v.diagnosis
    # and a symmetric A makes the same claim true
    assert one("x : n\nA : n x n, symmetric\nclaim ∂(x^T A x)/∂x = 2 A x\n").ok


def test_the_reported_error_is_the_real_one():
    v = one("x : n\nclaim ∂(x^T x)/∂x = 3 x\n")
    assert v.status == "factor"  # 2x vs 3x is a factor 2/3
    v = one("x : n\nclaim ∂(x^T x)/∂x = x + 1\n")
    assert v.status == "different"
    # max |2x - (x + 1)| at the point the verdict names, recomputed here
    ev = gather(mm.derive("x : n\nclaim ∂(x^T x)/∂x = x + 1\n"))[0]
    p = ev.points[0]
    x_value = p.views["shape"] / 2
    assert np.allclose(p.claim, x_value + 1)
    assert v.max_error == pytest.approx(float(np.max(np.abs(x_value - 1))))


# ====================================================================== layouts, user arrays, API
def test_one_measurement_serves_every_layout(monkeypatch):
    ev = gather(mm.derive(SEED + "claim ∂J/∂W = 2 x y^T\n"))[0]
    from matcalc_magic import api

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("evaluated again")

    monkeypatch.setattr(api.View, "evaluate_at", boom)
    assert ev.verdict("numerator").ok
    assert ev.verdict("shape").status == "transpose"
    assert ev.verdict("denominator").status == "transpose"


def test_claims_at_the_users_arrays():
    from matcalc_magic.api import bind

    d = mm.derive(SEED + "claim ∂J/∂W = 2 y x^T\n")
    W = np.arange(12.0).reshape(4, 3)
    x = np.array([1.0, -2.0, 0.5])
    env, sizes = bind(d.cell, {"W": W, "x": x})
    (v,) = check_claims(d, env=env, sizes=sizes)
    assert v.ok and v.at_user_arrays
    assert v.diagnosis.endswith("at 3 random points and at your arrays)")
    ev = gather(d, env=env, sizes=sizes)[0]
    user = [p for p in ev.points if p.user]
    assert len(user) == 1
    y = W @ x
    assert np.allclose(user[0].views["shape"], 2 * np.outer(y, x))


def test_several_claims_in_order_and_their_lines():
    vs = verdicts(SEED + "∂J/∂W\nclaim ∂J/∂W = 2 y x^T\nclaim ∂J/∂x = y\n")
    assert [v.ok for v in vs] == [True, False]
    assert [v.line for v in vs] == [6, 7]


def test_claim_failed_renders_without_a_traceback():
    vs = verdicts(SEED + "claim ∂J/∂W = y x^T\nclaim ∂J/∂x = 2 W^T y\n")
    err = ClaimFailed(vs, "%%mderive", line_offset=1)
    assert len(err.verdicts) == 1
    lines = err._render_traceback_()
    text = "\n".join(lines)
    assert "1 false claim" in text and "claim ∂J/∂W = y x^T (line 6)" in text
    assert "off by a constant factor 2" in text and "derived: ∂J/∂W = 2 y xᵀ" in text
    assert "Traceback" not in text and 'File "' not in text
    assert "off by a constant factor 2" in str(err)
