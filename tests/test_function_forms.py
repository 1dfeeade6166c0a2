"""Softmaxes and sigmoids as users write them: by name, as exp(·)/sum(exp(·)),
inside a hand-written log-sum-exp, or multiplied out; each prints as the
paper does, and is checked against finite differences.

* InfoNCE (Oord, Li & Vinyals, "Representation Learning with Contrastive
  Predictive Coding", 2018, eq. 4; SimCLR and CLIP use the same loss):
  ∂L/∂q = (K softmax(Kᵀq/τ) − k₊)/τ.
* Cross-entropy with soft targets (label smoothing: Szegedy et al.,
  "Rethinking the Inception Architecture", 2016, §7): ∂L/∂s = (𝟏ᵀy) p − y,
  which is p − y for a probability vector y.
* Logistic loss with labels ±1 (Boyd & Vandenberghe, *Convex Optimization*,
  §7.1.1; Boyd et al., ADMM, §8.2.1): ∇f = −Aᵀ(b ⊙ σ(−b ⊙ Ax)), where the
  chain rule gives σ(u) exp(−u), which is σ(−u).
* A row-wise log-sum-exp written by hand (CS231n's numerically stable
  softmax loss): its index form divides by the row sum, never sums
  reciprocals.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import check_numerically, softmax
from corpus import textbooks as T


def _one(cell: str):
    return mm.derive(cell)[0]


INFO_NCE = """q : d
k_pos : d
K : d x n
τ : scalar, positive
L = -log(exp(q^T k_pos / τ) / sum(exp(K^T q / τ)))
∂L/∂q
"""


def _info_nce(v):
    τ = v["τ"].item()
    logits = v["K"].T @ v["q"] / τ
    top = logits.max()
    return -(v["q"].T @ v["k_pos"]).item() / τ + top + np.log(np.sum(np.exp(logits - top)))


def test_info_nce_prints_the_softmax():
    r = _one(INFO_NCE)
    check_numerically(r, _info_nce, INFO_NCE, "q")
    assert r.view("shape").rhs_text == "(K softmax(Kᵀ q / τ) - k_pos) / τ"


SOFT_TARGETS = """s : n
y : n{props}
p = {p}
L = {loss}
∂L/∂s
"""


@pytest.mark.parametrize("p", ["exp(s) / sum(exp(s))", "softmax(s)", "np.exp(s) / np.sum(np.exp(s))"])
@pytest.mark.parametrize("loss", ["-y^T log(p)", "-sum(y ⊙ log(p))"])
@pytest.mark.parametrize("props, form", [("", "(𝟏ᵀ y) p - y"), (", probability", "p - y")])
def test_cross_entropy_with_soft_targets(p, loss, props, form):
    cell = SOFT_TARGETS.format(props=props, p=p, loss=loss)
    r = _one(cell)

    def f(v):
        return -(v["y"].T @ np.log(softmax(v["s"], axis=0))).item()

    if props:
        fixed = lambda v, sizes: {"y": softmax(v["y"], axis=0)}  # a probability vector
    else:
        fixed = None
    check_numerically(r, f, cell, "s", fixed=fixed)
    assert r.view("shape").rhs_text == form


def test_a_softmax_sums_to_one_along_its_axis():
    cell = """S : m x n
L = sum(softmax(S, axis=1)) + sum(softmax(S, axis=0) ⊙ S)
∂L/∂S
"""
    r = _one(cell)
    check_numerically(r, lambda v: np.sum(softmax(v["S"], axis=0) * v["S"]), cell, "S")
    assert "axis=1" not in r.view("shape").rhs_text  # the row softmaxes sum to the constant m


HAND_WRITTEN_LSE = """S : n x c
Y : n x c, onehot rows
L = -sum(Y ⊙ (S - log(exp(S) 𝟏) 𝟏^T))
∂L/∂S
"""


def test_a_reciprocal_of_a_row_sum_in_index_notation():
    r = _one(HAND_WRITTEN_LSE)

    def f(v):
        S = v["S"]
        top = S.max(axis=1, keepdims=True)
        return -np.sum(v["Y"] * (S - top - np.log(np.exp(S - top).sum(axis=1, keepdims=True))))

    check_numerically(r, f, HAND_WRITTEN_LSE, "S", fixed=T._labels)  # every layout, the index text read back
    assert r.view("index").rhs_text == "1/(exp(S) 𝟏)[i] exp(S)[i,j] - Y[i,j]"


def test_logistic_loss_with_signed_labels():
    cell = """A : m x n
x : n
b : m
f = sum(log(1 + exp(-b ⊙ (A x))))
∂f/∂x
"""
    r = _one(cell)
    check_numerically(r, lambda v: np.sum(np.logaddexp(0, -v["b"] * (v["A"] @ v["x"]))), cell, "x")
    assert r.view("shape").rhs_text == "-Aᵀ (σ(-b ⊙ (A x)) ⊙ b)"
