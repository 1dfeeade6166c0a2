"""Cells that hung, leaked a traceback or were refused although valid: each
now derives (checked numerically) or raises one MatcalcError at its span.

A hang is caught by an alarm far above any real cell's time (``no_hang``): a
regression fails instead of blocking the suite.  Speed itself is measured in
``bench/bench_limits.py``, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from cells import DERIVED, REFUSED
from conftest import LAYOUTS, check_numerically, no_hang
from matcalc_magic.errors import MatcalcError


def error_of(text: str) -> MatcalcError:
    with no_hang(60), pytest.raises(MatcalcError) as info:
        res = mm.derive(text)
        for r in res:  # a refusal may come as late as printing
            r.text
    return info.value


def spanned(err: MatcalcError) -> str:
    return err.source[err.span.start:err.span.end]


# ====================================================================== the reported cells
@pytest.mark.parametrize("text, span, message", REFUSED, ids=[f"refused-{i}" for i in range(len(REFUSED))])
def test_a_reported_cell_is_one_matcalc_error_at_its_span(text, span, message):
    err = error_of(text)
    assert spanned(err) == span
    assert message in err.message


@pytest.mark.parametrize("text, printed", DERIVED, ids=[f"derived-{i}" for i in range(len(DERIVED))])
def test_a_reported_cell_derives_and_passes_its_check(text, printed):
    with no_hang(120):
        r = mm.derive(text)[0]
        assert printed in r.text
        for layout in LAYOUTS:
            assert r.view(layout).text and r.view(layout).latex
        assert r.check(points=2).ok


# ====================================================================== constants
@pytest.mark.parametrize("text, span, message", [
    ("x : n\nJ = sum(1e-999999999 x)\n∂J/∂x", "1e-999999999", "beyond the range of float64"),
    ("x : n\nJ = sum((2 ** 1000) ** 1000 x)\n∂J/∂x", "(2 ** 1000) ** 1000", "about 10^301,030"),
    ("x : n\nJ = sum(" + "9" * 400 + " x)\n∂J/∂x", "9" * 400, "400 digits"),
    ("x : n; a : m; A : m x n\n∂(a + (-1) ** 0.5 A x)/∂x", "(-1) ** 0.5", "not a real number"),
    ("θ : n + 1\n∂(sum(θ[0.5:]))/∂θ", "0.5", "expected an integer size or index"),
    ("θ : n + 1\n∂(sum(θ[n/2:]))/∂θ", "n/2", "expected an integer size or index"),
])
def test_a_constant_out_of_range_is_refused_at_its_span(text, span, message):
    err = error_of(text)
    assert spanned(err) == span
    assert message in err.message


def test_constants_within_range_are_kept_exactly():
    r = mm.derive("x : n\nJ = sum(2 ** 100 x)\n∂J/∂x")[0]
    assert r.text == "∂J/∂x = 1267650600228229401496703205376 𝟏"
    assert r.check(points=1).ok


def test_a_hessian_through_a_small_matrix_power_derives():
    r = mm.derive("A : n x n, invertible\nhessian(tr(A^{-3}), A)")[0]
    assert r.check(points=2).ok


def test_a_product_of_more_factors_than_the_largest_power_derives():
    """h_k = W h_{k−1}, 150 times: a product of 150 W's, never written as a
    power, is not refused as W^150."""
    lines = ["x : n", "W : n x n"] + [f"h{k} = W h{k - 1}" if k > 1 else "h1 = W x" for k in range(1, 151)]
    cell = "\n".join(lines + ["J = sum(h150)", "∂J/∂x"])
    with no_hang(60):
        r = mm.derive(cell)[0]

    def f(v):
        h = v["x"]
        for _ in range(150):
            h = v["W"] @ h
        return np.sum(h)

    # W scaled to spectral norm 1, so that W^150 x neither vanishes nor overflows
    check_numerically(r, f, cell, "x", fixed=lambda v, s: {"W": v["W"] / np.linalg.norm(v["W"], 2)},
                      check_report=False)


# ====================================================================== valid cells once refused
def test_log_of_a_sum_of_logs_derives():
    cell = "q : n, positive\nf = log(sum(log(q + 2)))\n∂f/∂q"
    r = mm.derive(cell)[0]
    check_numerically(r, lambda v: np.log(np.sum(np.log(v["q"] + 2))), cell, "q")


def test_the_norm_of_a_quotient_derives():
    cell = "x : n\np : n, positive\nf = norm(x ⊘ p)\n∂f/∂x"
    r = mm.derive(cell)[0]
    check_numerically(r, lambda v: np.linalg.norm(v["x"] / v["p"]), cell, "x")
    assert mm.derive("x : n; p : n; f = norm(x ⊘ p); ∂f/∂x")[0].check(points=2).ok


def test_a_trace_of_diag_prints_in_every_layout():
    cell = "x : n\nW : m x k\nF = tr(diag(x)) W\n∂F/∂x"
    r = mm.derive(cell)[0]
    for layout in LAYOUTS:
        assert r.view(layout).text and r.view(layout).latex
    assert r.view("index").text == "∂F[i,j]/∂x[k] = W[i,j]"
    check_numerically(r, lambda v: np.sum(v["x"]) * v["W"], cell, "x")


@pytest.mark.parametrize("text", ["x : 2\nJ = x^T I_₂ x\n∂J/∂x", "x : 2\nJ = x^T I_2 x\n∂J/∂x"])
def test_an_identity_with_a_subscript_digit(text):
    r = mm.derive(text)[0]
    check_numerically(r, lambda v: (v["x"].T @ v["x"])[0, 0], text.replace("2", "2", 1), "x")


def test_an_identity_of_size_zero_is_refused():
    err = error_of("x : 3\nJ = x^T I_0 x\n∂J/∂x")
    assert spanned(err) == "I_0" and "at least 1" in err.message


def test_a_size_of_five_thousand_terms():
    with no_hang(60):
        r = mm.derive("x : " + "+".join(["n"] * 5000) + "\n∂(sum(x))/∂x")[0]
    assert r.view().shape == ("5000n", "1")
    assert r.check(points=1).ok


def test_a_size_below_one_is_refused_whatever_its_length():
    err = error_of("x : " + " + ".join(["n"] * 300) + " - " + " - ".join(["n"] * 300) + "\n∂(sum(x))/∂x")
    assert "a size must be at least 1" in err.message


def test_a_lone_surrogate_in_a_comment_is_harmless():
    r = mm.derive("x : n  # a comment \ud800\n∂(sum(x))/∂x")[0]
    assert r.check(points=1).ok
    assert "\ufffd" in r.cell.source and "\ud800" not in r.cell.source
    r.text.encode("utf-8")


def test_a_lone_surrogate_in_a_name_is_one_located_error():
    err = error_of("x\ud800 : n\n∂(sum(x))/∂x")
    assert err.line == 1 and err.column == 2
    str(err).encode("utf-8")


@pytest.mark.parametrize("definition, says", [
    ("z = x - x", "z = x - x is identically zero, so nothing depends on it"),
    ("z = 0 x", "z = 0 x is identically zero"),
    ("z = 3", "z = 3 is a constant, so nothing depends on it"),
])
def test_a_definition_without_a_variable_says_why_it_cannot_be_differentiated_by(definition, says):
    err = error_of(f"x : n\n{definition}\nJ = sum(z ⊙ x)\n∂J/∂z")
    assert says in err.message and spanned(err) == "z"


def test_a_definition_that_is_a_variable_points_to_it():
    err = error_of("x : n\nz = x\nJ = sum(z)\n∂J/∂z")
    assert "z is defined as x; differentiate by that instead" in err.message


# ====================================================================== names
def test_evaluate_accepts_a_name_as_the_cell_wrote_it():
    res = mm.derive("b_{1} : n\nJ = sum(b_{1} ⊙ b_{1})\n∂J/∂b_{1}")
    b = np.arange(3.0)
    for key in ("b_1", "b_{1}"):
        np.testing.assert_allclose(res[0].view().evaluate({key: b}).ravel(), 2 * b)


# ====================================================================== long cells
def chain(length: int, layer: str = "tanh(W {prev})") -> str:
    lines = ["x : n", "W : n x n"]
    prev = "x"
    for k in range(1, length + 1):
        lines.append(f"h{k} = " + layer.format(prev=prev))
        prev = f"h{k}"
    return "\n".join(lines + [f"J = sum({prev})", "∂J/∂x"])


@pytest.mark.parametrize("layer", ["tanh(W {prev})", "exp({prev})", "{prev} + W x", "W {prev}"])
def test_a_thousand_definitions_derive_and_print(layer):
    with no_hang(120):
        r = mm.derive(chain(1000, layer))[0]
        assert len(r.text) < 200_000  # linear in the chain, by naming shared parts


def test_a_long_hadamard_chain_is_right():
    """exp(h) ⊙ exp(h′) ⊙ … nested in groups (not one flat product per level)."""
    cell = chain(30, "exp({prev}) ⊙ x")

    def f(v):
        h = v["x"]
        for _ in range(30):
            h = np.exp(h) * v["x"]
        return np.sum(h)

    r = mm.derive(cell)[0]
    check_numerically(r, f, cell, "x", fixed=lambda v, s: {"x": v["x"] * 0.05}, check_report=False)


def test_a_product_of_many_named_factors_prints_with_their_names():
    cell = "x : n\nA : n x n\n" + "\n".join(f"y{k} = A {'x' if k == 1 else f'y{k - 1}'}" for k in range(1, 6)) + \
           "\nJ = x^T y5\n∂J/∂x"
    r = mm.derive(cell)[0]
    check_numerically(r, lambda v: (v["x"].T @ np.linalg.matrix_power(v["A"], 5) @ v["x"])[0, 0], cell, "x")


# ====================================================================== the time limit
def test_nested_time_limits_each_stop_their_own_work():
    import time

    from matcalc_magic.deadline import TimeLimit, time_limit, working_on

    with pytest.raises(TimeLimit) as stop:
        with time_limit(1.0):
            with time_limit(0.2):
                time.sleep(0.05)  # within both
            with working_on("the outer limit's work"):
                time.sleep(5)
    assert stop.value.task.what == "the outer limit's work"
    with pytest.raises(TimeLimit) as stop:
        with time_limit(0.2), time_limit(5), working_on("the shorter limit counts"):
            time.sleep(5)
    assert stop.value.task.what == "the shorter limit counts"


def test_the_time_limit_in_another_thread_stops_between_parts_of_the_cell():
    """No SIGALRM outside the main thread: the deadline is checked as each
    line is read, each request differentiated."""
    import threading

    from matcalc_magic.deadline import TimeLimit, time_limit

    cell = chain(3000)
    found = {}

    def work():
        try:
            with time_limit(0.2):
                mm.derive(cell)
        except TimeLimit as stop:
            found["task"] = stop.task

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    task = found["task"]
    assert task.what in ("reading this line", "differentiating ∂J/∂x") and task.span is not None
