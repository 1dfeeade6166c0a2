"""Results read as textbooks print them, on the derivations users bring.

* the user's names are kept, also where building the result rescaled or
  reordered their definitions;
* nothing is printed twice: a part printed twice is named once, every name
  in a "where" list is used, and names are defined before they are used
  (a property test over random well-shaped expressions);
* numbers stay as written (1e-5), inside the user's sub-expressions;
* an elementwise formula that is a named function prints as that function;
* one spelling per format (no ``**``, no ``+ -``, x[i] on both sides of index text);
* deriving stays polynomial in the size of a cell whose definitions share
  one another (a hang guard: the speed itself is measured in bench/).

Every derivative here is also checked against finite differences.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import matcalc_magic as mm
from conftest import LAYOUTS, check_numerically, sigmoid, softmax
from corpus import textbooks as T
from matcalc_magic.errors import MatcalcError
from test_properties import DECLS, problems, time_limit


def derive_one(cell: str):
    return mm.derive(cell)[0]


# ====================================================================== what is printed twice, or never
#: a part this long printed twice is longer than naming it once
REPEAT_CHARS = 18


def _groups(text: str) -> list[str]:
    """The contents of every balanced pair of parentheses."""
    out, stack = [], []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            out.append(text[stack.pop() + 1:i])
    return out


def printing_problems(text: str) -> list[tuple[str, str]]:
    """("twice", part) for a part printed twice, ("unused", name) for a where-part
    nothing uses, ("undefined", name) for a name used before its definition."""
    head, _, where = text.partition(", where ")
    rhs = head.split(" = ", 1)[1]
    parts = [p.split(" = ", 1) for p in where.split("; ")] if where else []
    bodies = [rhs] + [body for _name, body in parts]
    everything = "\n".join(bodies)
    found = []
    for part in {g for b in bodies for g in _groups(b)} | {body for _name, body in parts}:
        if len(part) >= REPEAT_CHARS and everything.count(part) >= 2:
            found.append(("twice", part))
    for k, (name, _body) in enumerate(parts):
        pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?![0-9₀-₉])")
        if not any(pattern.search(b) for b in bodies):
            found.append(("unused", name))
        if any(pattern.search(body) for _n, body in parts[:k + 1]):
            found.append(("undefined", name))  # used by itself or by an earlier definition
    return found


def test_the_checker_of_printed_parts_finds_what_it_looks_for():
    assert printing_problems("∂f/∂x = a + (b ⊙ c + d ⊙ e ⊙ g ⊙ h) x + (b ⊙ c + d ⊙ e ⊙ g ⊙ h) y") == [
        ("twice", "b ⊙ c + d ⊙ e ⊙ g ⊙ h")]
    assert printing_problems("∂f/∂x = (a + b) x + (a + b) y") == []  # too short to be worth a name
    assert printing_problems("∂f/∂x = δ₁ x, where δ₁ = a + b; δ₂ = c") == [("unused", "δ₂")]
    assert printing_problems("∂f/∂x = δ₁ + δ₂, where δ₁ = δ₂ + a; δ₂ = b") == [("undefined", "δ₂")]
    assert printing_problems("∂f/∂x = δ₁ᵀ + δ₂, where δ₁ = a + b; δ₂ = δ₁ c") == []


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems())
def test_no_part_is_printed_twice_and_every_name_is_used(problem):
    e, wrt = problem
    try:
        r = derive_one(f"{DECLS}\nf = {e.text}\n∂f/∂{wrt}")
    except MatcalcError:
        return
    for layout in LAYOUTS:
        v = r.view(layout)
        if v.expr is None:  # index notation writes entries, with no parts to name
            continue
        assert printing_problems(v.text) == [], (layout, v.text)
        assert [name for name, _node in v.where] == [f"δ_{k}" for k in range(1, len(v.where) + 1)]


def test_no_result_of_the_corpus_prints_a_part_twice_or_an_unused_name():
    from test_corpus import ENTRIES

    derived, found = {}, {}
    for e in ENTRIES:
        if e.refused:
            continue
        r = (derived.get(e.cell) or derived.setdefault(e.cell, mm.derive(e.cell)))[e.request]
        for layout in LAYOUTS:
            v = r.view(layout)
            if v.expr is not None and printing_problems(v.text):
                found[f"{e.source}/{e.id} {layout}"] = printing_problems(v.text)
    assert len(derived) > 100 and not found, found


def test_a_part_printed_twice_is_named_once():
    # before: … (diag(softmax(x)) - softmax(x) softmax(x)ᵀ - …) + I - (diag(softmax(x)) - softmax(x) softmax(x)ᵀ),
    # where δ₁ = -softmax(x) softmax(x)ᵀ — the softmax Jacobian written twice, and a δ₁ nothing used
    cell = "x : n\n∂(softmax(softmax(x)) + x - softmax(x))/∂x"
    v = derive_one(cell).view()
    assert v.text.endswith("where δ₁ = softmax(softmax(x)); δ₂ = diag(softmax(x)) - softmax(x) softmax(x)ᵀ")
    assert printing_problems(v.text) == []
    check_numerically(derive_one(cell), lambda v: softmax(softmax(v["x"])) + v["x"] - softmax(v["x"]), "x : n", "x")


def test_batch_norm_names_each_part_once_and_uses_every_name():
    # before: (1/N) ((𝟏ᵀ (δ₁ ⊙ Xh)) ⊘ sqrt(v + 1/100000)) ⊙ Xc written twice, and an unused δ₂
    r = mm.derive(T.BATCHNORM)["∂L/∂X"]
    text = r.view().text
    assert printing_problems(text) == []
    assert "Xh" in text and "1/100000" not in text and "sqrt(" not in text  # the user's s and Xh
    check_numerically(r, T._batchnorm, T.BATCHNORM, "X")


def test_a_named_term_keeps_its_name_with_its_sign():
    # δ = -(1/n) … is printed "+ δ", not "- (1/n) …" beside a where-part defining δ
    cell = "x : n\nA : n x n\nf = (1/n) sum(x) * sum(A x) - (1/n) sum(x) * sum(A^T x)\n∂f/∂x"
    text = derive_one(cell).view().text
    assert printing_problems(text) == []


# ====================================================================== the user's names
def test_attention_keeps_the_name_of_its_weights():
    # before: Xᵀ softmax((1/sqrt(k)) Q Kᵀ, axis=1)ᵀ G — the scores rescaled in the result were not
    # recognised as the user's A
    res = mm.derive(T.ATTENTION)
    assert res["∂L/∂Wv"].view().rhs_text == "Xᵀ Aᵀ G"
    assert "softmax" not in res["∂L/∂Wq"].view().text
    for wrt in ("Wv", "Wq"):
        check_numerically(res[f"∂L/∂{wrt}"], T._attention, T.ATTENTION, wrt)


def test_a_backward_pass_written_as_definitions_derives():
    # the user's dS = A ⊙ (dA − (A ⊙ dA) 𝟏 𝟏ᵀ) contains A, whose island looks for definitions
    # while dS itself is being read: this recursed until the stack ran out
    cell = T.ATTENTION.replace("∂L/∂Wq, ∂L/∂Wk, ∂L/∂Wv",
                               "dA = G V^T\ndS = A ⊙ (dA - (A ⊙ dA) 𝟏 𝟏^T)\n∂L/∂Wq")
    r = derive_one(cell)
    assert "softmax" not in r.view().text
    check_numerically(r, T._attention, cell, "Wq")


def test_a_definition_rescaled_by_a_scalar_is_found_again():
    # the result is (1/s) (g ⊙ xc): the scalar pulled out of the product is the user's xh = xc / s
    res = mm.derive(T.LAYERNORM)
    assert res["∂L/∂γ"].view().rhs_text == "g ⊙ xh"
    check_numerically(res["∂L/∂γ"], T._layernorm, T.LAYERNORM, "γ")


def test_a_sum_containing_a_named_sum_prints_the_name():
    cell = "W : m x n\nx : n\nb, c : m\nz = W x + b\nf = sum(exp(W x + b + c)) + sum(z ⊙ z)\n∂f/∂c"
    r = derive_one(cell)
    assert r.view().rhs_text == "exp(z + c)"
    check_numerically(r, lambda v: np.sum(np.exp(v["W"] @ v["x"] + v["b"] + v["c"]))
                      + np.sum((v["W"] @ v["x"] + v["b"]) ** 2), cell, "c")


# ====================================================================== numbers as written
def test_layer_norm_keeps_its_epsilon_as_written_inside_s():
    # before: (10000000 sqrt(10) sqrt(d)) (1/sqrt(d + 100000 ‖xc‖²)³)
    r = mm.derive(T.LAYERNORM)["∂L/∂x"]
    v = r.view()
    assert "s³" in v.text and "100000" not in v.text and "sqrt" not in v.text
    assert "100000" not in v.latex
    check_numerically(r, T._layernorm, T.LAYERNORM, "x")


def test_a_written_number_is_printed_as_written_in_every_format():
    cell = "x : n\n∂(sqrt(x^T x + 1e-5))/∂x"
    r = derive_one(cell)
    assert r.view().rhs_text == "x / sqrt(xᵀ x + 1e-5)"
    assert "10^{-5}" in r.view().rhs_latex
    check_numerically(r, lambda v: np.sqrt(v["x"].T @ v["x"] + 1e-5), cell, "x")


def test_a_named_number_keeps_its_name():
    # Ng's sparsity target ρ = 0.05: the derivative is written with ρ, not with 1/20 and 19/20
    cell = "p : n, positive\nρ = 0.05\nf = sum(ρ log(ρ / p) + (1 - ρ) log((1 - ρ) / (1 + p)))\n∂f/∂p"
    r = derive_one(cell)
    text = r.view().text
    assert "ρ" in text and "20" not in text
    check_numerically(r, lambda v: np.sum(0.05 * np.log(0.05 / v["p"]) + 0.95 * np.log(0.95 / (1 + v["p"]))),
                      cell, "p")


# ====================================================================== named functions
@pytest.mark.parametrize("cell, form, f", [
    # Hyvärinen & Oja (2000): G(u) = log cosh u has g(u) = tanh u
    ("W : m x n\nx : n\nL = sum(log((exp(W x) + exp(-(W x))) / 2))\n∂L/∂W", "tanh(W x) xᵀ",
     lambda v: np.sum(np.log(np.cosh(v["W"] @ v["x"])))),
    # the logistic loss: ∂ log(1 + exp(wᵀx))/∂w = σ(wᵀx) x
    ("w : n\nx : n\nL = log(1 + exp(w^T x))\n∂L/∂w", "σ(wᵀ x) x",
     lambda v: np.log1p(np.exp(v["w"].T @ v["x"]))),
    # log |det W|: sign(det W) det(W) W⁻ᵀ / abs(det W) is W⁻ᵀ
    ("W : n x n, invertible\nL = log(abs(det(W)))\n∂L/∂W", "W⁻ᵀ",
     lambda v: np.log(abs(np.linalg.det(v["W"])))),
], ids=["tanh", "sigmoid", "sign-abs"])
def test_an_island_that_is_a_named_function_prints_as_it(cell, form, f):
    r = derive_one(cell)
    assert r.view().rhs_text == form
    check_numerically(r, f, cell, r.request.wrt_name)


# ====================================================================== scalar multiples of one part, collected
NEGATIVE_SAMPLING = ("v_c, u_o : d\nU_neg : d x K\nJ = -log(σ(u_o^T v_c)) - sum(log(σ(-U_neg^T v_c)))\n"
                     "∂J/∂v_c, ∂J/∂u_o")


def _negative_sampling(v):
    return -np.log(sigmoid(v["u_o"].T @ v["v_c"])) - np.sum(np.log(sigmoid(-v["U_neg"].T @ v["v_c"])))


@pytest.mark.parametrize("cell, form, f", [
    # word2vec's negative sampling (CS224n, assignment 2): −(1 − σ(u_oᵀv_c)) u_o beside the sum over samples
    (NEGATIVE_SAMPLING, "U_neg σ(U_negᵀ v_c) - σ(-u_oᵀ v_c) u_o", _negative_sampling),
    # a logistic loss with a linear term, by a vector and by a matrix (a third term beside the two in x)
    ("w, x, u : n\nJ = -log(σ(w^T x)) + u^T w\n∂J/∂w", "u - σ(-wᵀ x) x",
     lambda v: -np.log(sigmoid(v["w"].T @ v["x"])) + v["u"].T @ v["w"]),
    ("W : n x m\nx : m\nu : n\nB : n x m\nJ = -log(σ(u^T W x)) + sum(B ⊙ W)\n∂J/∂W",
     "B - σ(-uᵀ W x) u xᵀ", lambda v: -np.log(sigmoid(v["u"].T @ v["W"] @ v["x"])) + np.sum(v["B"] * v["W"])),
], ids=["negative-sampling", "logistic-vector", "logistic-matrix"])
def test_scalar_multiples_of_one_part_are_collected_beside_other_terms(cell, form, f):
    r = derive_one(cell)
    assert r.view().rhs_text == form
    check_numerically(r, f, cell, r.request.wrt_name)


def test_a_coefficient_reads_the_same_alone_and_inside_a_longer_sum():
    by_v, by_u = mm.derive(NEGATIVE_SAMPLING)
    check_numerically(by_v, _negative_sampling, NEGATIVE_SAMPLING, "v_c")
    coefficient = by_u.view().rhs_text.removesuffix(" v_c")
    assert coefficient == "-σ(-u_oᵀ v_c)"
    assert by_v.view().rhs_text.endswith(" - σ(-u_oᵀ v_c) u_o")
    check_numerically(by_u, _negative_sampling, NEGATIVE_SAMPLING, "u_o")


# ====================================================================== one spelling per format
def test_index_notation_has_one_spelling_per_format():
    cell = "X : N x D\nY = (1/N) X - (1/N^2) X\n∂Y/∂X"
    r = derive_one(cell)
    text, latex = r.view("index").text, r.view("index").latex
    # before: (1/N) δ[i,k] δ[j,l] + (-1/N**2) δ[i,k] δ[j,l], and "+ -" in LaTeX
    assert text == "∂Y[i,j]/∂X[k,l] = ((N - 1)/N²) δ[i,k] δ[j,l]"
    assert "**" not in latex and "+ -" not in latex
    check_numerically(r, lambda v: v["X"] / v["X"].shape[0] - v["X"] / v["X"].shape[0] ** 2, cell, "X")


def test_index_text_writes_every_index_in_brackets_and_reads_back():
    """A long chain needs more summation letters than the alphabet has (a₁ after
    z); both sides of the text index as the input does (x[i], Σ_ab), never with
    subscript letters beside them, and Σ_za₁b₁ reads back as z, a₁, b₁."""
    layers = 26
    lines = ["x : n"] + [f"W{k} : n x n" for k in range(1, layers + 1)]
    prev = "x"
    for k in range(1, layers + 1):
        lines.append(f"h{k} = W{k} {prev}")
        prev = f"h{k}"
    cell = "\n".join(lines + [f"J = sum({prev})", "∂J/∂x"])
    r = derive_one(cell)
    text = r.view("index").text
    assert text.startswith("∂J/∂x[i] = Σ_") and "**" not in text and "[a₁," in text
    assert not set(text) & set("ᵢⱼₖₗₐₚᵣₛₜᵤᵥₕₘₙₒₓₑ")

    def value(v):
        h = v["x"]
        for k in range(1, layers + 1):
            h = v[f"W{k}"] @ h
        return h.sum()

    check_numerically(r, value, cell, "x")


def test_a_summation_index_is_no_name_written_in_its_term():
    """(a - π)[a] would read as a's own entries: the index takes another letter."""
    r = mm.derive(T.PPO)[0]
    text = r.view("index").text
    assert text == "∂L/∂θ[i] = Σ_b Â r Φ[b,i] (a - π)[b]"
    check_numerically(r, T._ppo, T.PPO, "θ")


# ====================================================================== polynomial in the cell's size
def _nested(levels: int, request: str) -> str:
    lines = ["x : n", "h1 = x ⊙ x + x"] + [f"h{k} = h{k - 1} ⊙ h{k - 1} + h{k - 1}" for k in range(2, levels + 1)]
    return "\n".join(lines + [f"J = sum(h{levels})", request])


def _nested_value(v, levels):
    h = v["x"] * v["x"] + v["x"]
    for _ in range(levels - 1):
        h = h * h + h
    return np.sum(h)


@pytest.mark.parametrize("request_", ["∂J/∂x", "hessian(J, x)", "∂J/∂h1"])
def test_definitions_sharing_one_another_derive_without_blowing_up(request_):
    """Each level uses the one before three times, so written out the formula
    grows like 3^L: 5 levels took seconds and 6 more than 100 s before the
    elementwise simplification learned to leave shared parts whole.  12 levels
    must answer (the alarm is only a hang guard; bench/ has the timings)."""
    with time_limit(120):
        r = derive_one(_nested(12, request_))
        _ = (r.view().text, r.view().latex)
    assert printing_problems(r.view().text) == []


@pytest.mark.parametrize("request_", ["∂J/∂x", "hessian(J, x)"])
def test_definitions_sharing_one_another_are_right(request_):
    levels = 3  # values stay small enough for finite differences
    cell = _nested(levels, request_)
    check_numerically(derive_one(cell), lambda v: _nested_value(v, levels), cell, "x")


def test_an_unnamed_nest_is_simplified_within_a_budget():
    """The same nesting written out without names: SymPy would expand a
    polynomial of degree 2^L; the island is left as it is instead."""
    inner = "(x ⊙ x + x)"
    for _ in range(4):
        inner = f"({inner} ⊙ {inner} + {inner})"
    cell = f"x : n\nJ = sum({inner})\n∂J/∂x"
    with time_limit(120):
        r = derive_one(cell)
        _ = r.view().text
    check_numerically(r, lambda v: _nested_value(v, 5), cell, "x")


def test_written_numbers_survive_the_algebra_of_a_cell():
    cell = "x : n\na = 0.5\nf = a sum(x ⊙ x) + sum(log(1 + 1e-3 exp(x)))\n∂f/∂x"
    r = derive_one(cell)
    text = r.view().text
    assert "1e-3" in text and "1000" not in text
    check_numerically(r, lambda v: 0.5 * np.sum(v["x"] ** 2) + np.sum(np.log(1 + 1e-3 * np.exp(v["x"]))), cell, "x")


def test_a_sigmoid_written_out_is_recognised():
    cell = "x : n\nf = sum(log(exp(x) / (1 + exp(x))))\n∂f/∂x"
    r = derive_one(cell)
    assert "exp" not in r.view().rhs_text
    check_numerically(r, lambda v: np.sum(np.log(sigmoid(v["x"]))), cell, "x")


@pytest.mark.parametrize("cell, f, text", [
    ("x : n\nJ = 0.5 x^T x\n∂J/∂x", lambda v: 0.5 * np.sum(v["x"] ** 2), "∂J/∂x = x"),
    ("x : n\nJ = 0.25 (x^T x)^2\n∂J/∂x", lambda v: 0.25 * np.sum(v["x"] ** 2) ** 2, "∂J/∂x = x xᵀ x"),
    ("a : scalar\nJ = 0.5 a\n∂J/∂a", lambda v: 0.5 * v["a"], "∂J/∂a = 0.5"),
    ("x : n\nJ = 1e-3 sum(x)\n∂J/∂x", lambda v: 1e-3 * np.sum(v["x"]), "∂J/∂x = 1e-3 𝟏"),
])
def test_a_written_number_cancels_when_it_makes_a_whole_number(cell, f, text):
    """0.5 stays 0.5 (and 1e-3 stays 1e-3), but ∇ 0.5 xᵀx is x, not 2 0.5 x."""
    result = mm.derive(cell).results[0]
    assert result.view("denominator").text == text
    wrt = "a" if "a : scalar" in cell else "x"
    check_numerically(result, f, cell.rsplit("\n", 2)[0] if wrt == "x" else "a : scalar", wrt)


def test_an_inner_product_is_turned_to_collect_a_common_factor():
    """a (xᵀ b) + b (xᵀ a) is (a bᵀ + b aᵀ) x (Wikipedia's matrix calculus
    identities): the scalar xᵀ b is bᵀ x, so x is a common right factor."""
    cell = "a, b, x : n\nA : n x n\n∂(a^T x b^T A x)/∂x"
    r = derive_one(cell)
    check_numerically(r, lambda v: (v["a"].T @ v["x"]).item() * (v["b"].T @ v["A"] @ v["x"]).item(), cell, "x")
    assert r.view("shape").rhs_text == "(a bᵀ A + Aᵀ b aᵀ) x"
