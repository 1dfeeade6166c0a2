"""Derivations users bring from courses, papers and books, beyond our own notes.

Each entry cites where its result is printed.  The printed form is the
source's, in the engine's plain-text notation; where the algebra forbids the
source's exact form, the entry records the closest form and its comment says
why.  Some are written twice, as the sources spell them and in the notation's
own spelling: ``cosh`` beside ``log(exp(u) + exp(-u))``, a NumPy 1-D bias
``b : (M,)`` beside ``1 x M``, ``log det`` beside ``logdet``.

Sources:

* **Vaswani** — Vaswani et al., "Attention Is All You Need" (NeurIPS 2017),
  §3.2.1 scaled dot-product attention, rows as tokens; its gradients as Dao et
  al., "FlashAttention" (NeurIPS 2022), Appendix B.2 write them: dV = Pᵀ dO,
  dP = dO Vᵀ, dS = P ⊙ (dP − D 𝟏ᵀ) with D = rowsum(dP ⊙ P), dQ = dS K.
* **CS231n** — Stanford CS231n, assignments 1–2 and the course notes: the
  affine layer (batch as rows), the softmax loss, batch normalisation
  (F. Kratzert's derivation of the backward pass) and layer normalisation
  (Ba, Kiros & Hinton 2016) with ε = 1e-5.
* **ICA** — Hyvärinen & Oja, "Independent Component Analysis: Algorithms and
  Applications" (Neural Networks 2000), §4.3: G(u) = log cosh u, g(u) = tanh u;
  Bell & Sejnowski (Neural Computation 1995), eq. (14): the infomax rule
  ΔW ∝ (Wᵀ)⁻¹ + (1 − 2y) xᵀ, whose first term is ∂ log|det W|/∂W.
* **Goodfellow** — Goodfellow, Bengio & Courville, *Deep Learning* (2016),
  §10.2.2: back-propagation through time, ∇_V L = Σ_t (ŷ_t − y_t) h_tᵀ,
  ∇_b L = Σ_t diag(1 − h_t²) ∇_{h_t} L, ∇_W L = Σ_t diag(1 − h_t²)
  (∇_{h_t} L) h_{t−1}ᵀ, ∇_U L = Σ_t diag(1 − h_t²) (∇_{h_t} L) x_tᵀ.
* **PRML** — Bishop, *Pattern Recognition and Machine Learning* (2006):
  (2.43)/(2.121) the Gaussian by its mean, the Gaussian by its covariance (as
  the Matrix Cookbook's (57) and (61) combine), (3.13) and (3.27) least
  squares, (4.91) logistic regression, (4.109) softmax regression.
* **GPML** — Rasmussen & Williams, *Gaussian Processes for Machine Learning*
  (2006), eq. (5.9): ∂ log p(y|X)/∂θ = ½ tr((α αᵀ − K⁻¹) ∂K/∂θ), α = K⁻¹ y.
* **UFLDL** — A. Ng, "Sparse autoencoder" (CS294A lecture notes, 2011), §2–3:
  the KL sparsity penalty with ρ = 0.05 and its term in δ⁽²⁾,
  β (−ρ/ρ̂ + (1 − ρ)/(1 − ρ̂)).
* **RL** — Sutton & Barto, *Reinforcement Learning* (2nd ed. 2018), eq. (13.9):
  ∇ ln π(a|s, θ) = x(s, a) − Σ_b π(b|s, θ) x(s, b) for a softmax-linear
  policy; Schulman et al., "Proximal Policy Optimization" (2017), eq. (6):
  L^CPI = r_t(θ) Â_t, whose gradient is Â r ∇ ln π(a).
"""

from __future__ import annotations

import numpy as np
from conftest import ce, sigmoid, softmax

from . import Entry


def _logsoftmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


# ====================================================================== Vaswani et al.
ATTENTION = """X : T x d
Wq, Wk, Wv : d x k
Q = X Wq
K = X Wk
V = X Wv
A = softmax(Q K^T / sqrt(k), axis=1)
O = A V
G : T x k
L = sum(G ⊙ O)
∂L/∂Wq, ∂L/∂Wk, ∂L/∂Wv
"""

# the same with the scores named, to ask for dS and dP themselves
ATTENTION_SCORES = """X : T x d
Wq, Wk, Wv : d x k
Q = X Wq
K = X Wk
V = X Wv
S = Q K^T / sqrt(k)
A = softmax(S, axis=1)
O = A V
G : T x k
L = sum(G ⊙ O)
∂L/∂S, ∂L/∂A
"""


def _attention(v, S=None, A=None):
    X = v["X"]
    Q, K, V = X @ v["Wq"], X @ v["Wk"], X @ v["Wv"]
    if A is None:
        S = Q @ K.T / np.sqrt(Q.shape[1]) if S is None else S
        A = softmax(S, axis=1)
    return np.sum(v["G"] * (A @ V))


def _scores(values, sizes):
    Q, K = values["X"] @ values["Wq"], values["X"] @ values["Wk"]
    S = Q @ K.T / np.sqrt(Q.shape[1])
    return {"S": S, "A": softmax(S, axis=1)}


# dS = P ⊙ (dP − D 𝟏ᵀ) with dP = G Vᵀ and D = rowsum(dP ⊙ P) = ((G Vᵀ) ⊙ A) 𝟏;
# dQ = dS K / √k (the scale the paper keeps inside S), dK = dSᵀ Q / √k
ATTENTION_DS = "A ⊙ (G Vᵀ - (((G Vᵀ) ⊙ A) 𝟏) 𝟏ᵀ)"

# ====================================================================== CS231n
AFFINE = """X : N x D
W : D x M
b : 1 x M
G : N x M
Y = X W + b
L = sum(G ⊙ Y)
∂L/∂X, ∂L/∂W, ∂L/∂b
"""


def _affine(v):
    return np.sum(v["G"] * (v["X"] @ v["W"] + v["b"]))


SOFTMAX_LOSS = """X : N x D
W : D x C
Y : N x C, onehot rows
S = X W
L = -(1/N) sum(Y ⊙ log_softmax(S, axis=1))
∂L/∂W, ∂L/∂S
"""


def _softmax_loss(v, S=None):
    S = v["X"] @ v["W"] if S is None else S
    return -np.sum(v["Y"] * _logsoftmax(S, 1)) / S.shape[0]


def _one_hot_rows(values, sizes):
    """Y with one 1 per row, as the loss's labels are."""
    Y = np.zeros_like(values["Y"])
    Y[np.arange(Y.shape[0]), np.arange(Y.shape[0]) % Y.shape[1]] = 1.0
    return {"Y": Y, "S": values["X"] @ values["W"]}


BATCHNORM = """X : N x D
γ : 1 x D
β : 1 x D
G : N x D
μ = (1/N) sum(X, axis=0)
Xc = X - μ
v = (1/N) sum(Xc ⊙ Xc, axis=0)
s = sqrt(v + 1e-5)
Xh = Xc ⊘ s
Y = Xh ⊙ γ + β
L = sum(G ⊙ Y)
∂L/∂X, ∂L/∂γ, ∂L/∂β
"""


def _batchnorm(v):
    X = v["X"]
    Xc = X - X.mean(axis=0, keepdims=True)
    Xh = Xc / np.sqrt((Xc**2).mean(axis=0, keepdims=True) + 1e-5)
    return np.sum(v["G"] * (Xh * v["γ"] + v["β"]))


LAYERNORM = """x : d
γ : d
β : d
g : d
μ = (1/d) sum(x)
xc = x - μ
v = (1/d) sum(xc ⊙ xc)
s = sqrt(v + 1e-5)
xh = xc / s
y = γ ⊙ xh + β
L = g^T y
∂L/∂x, ∂L/∂γ
"""


def _layernorm(v):
    x = v["x"]
    xc = x - x.mean()
    xh = xc / np.sqrt((xc**2).mean() + 1e-5)
    return (v["g"].T @ (v["γ"] * xh + v["β"])).item()


# ====================================================================== ICA
LOG_COSH = """W : m x n
x : n
L = sum(log((exp(W x) + exp(-(W x))) / 2))
∂L/∂W
"""

LOG_COSH_NAMED = """W : m x n
x : n
L = sum(log(cosh(W x)))
∂L/∂W
"""


def _log_cosh(v):
    return np.sum(np.log(np.cosh(v["W"] @ v["x"])))


LOG_ABS_DET = """W : n x n, invertible
L = log(abs(det(W)))
∂L/∂W
"""

INFOMAX = """W : n x n, invertible
x : n
y = σ(W x)
L = log(abs(det(W))) + sum(log(y ⊙ (1 - y)))
∂L/∂W
"""


def _infomax(v):
    y = sigmoid(v["W"] @ v["x"])
    return np.log(abs(np.linalg.det(v["W"]))) + np.sum(np.log(y * (1 - y)))


# ====================================================================== Goodfellow et al.
BPTT = """W : n x n
U : n x d
b : n
V : c x n
x1, x2 : d
h0 : n
y1, y2 : c, onehot
h1 = tanh(W h0 + U x1 + b)
h2 = tanh(W h1 + U x2 + b)
L = CE(y1, softmax(V h1)) + CE(y2, softmax(V h2))
∂L/∂V, ∂L/∂b, ∂L/∂W, ∂L/∂U
"""


def _bptt(v):
    h1 = np.tanh(v["W"] @ v["h0"] + v["U"] @ v["x1"] + v["b"])
    h2 = np.tanh(v["W"] @ h1 + v["U"] @ v["x2"] + v["b"])
    return ce(v["y1"], softmax(v["V"] @ h1)) + ce(v["y2"], softmax(v["V"] @ h2))


# one δ per step, each named once (10.21): δ₁ at t = 2 flows back into δ₂ at t = 1
BPTT_DELTAS = "δ₁ = (Vᵀ (softmax(V h2) - y2)) ⊙ (1 - h2^∘2); δ₂ = (Vᵀ (softmax(V h1) - y1) + Wᵀ δ₁) ⊙ (1 - h1^∘2)"

# ====================================================================== PRML
GAUSS_MEAN = """x : n
μ : n
Σ : n x n, spd
L = -(1/2) (x - μ)^T Σ^{-1} (x - μ)
∂L/∂μ
"""

GAUSS_COVARIANCE = """x : n
μ : n
Σ : n x n, spd
L = -(1/2) logdet(Σ) - (1/2) (x - μ)^T Σ^{-1} (x - μ)
∂L/∂Σ
"""


def _gauss(v):
    r = v["x"] - v["μ"]
    return -0.5 * np.linalg.slogdet(v["Σ"])[1] - 0.5 * (r.T @ np.linalg.solve(v["Σ"], r)).item()


def _gauss_quadratic(v):
    r = v["x"] - v["μ"]
    return -0.5 * (r.T @ np.linalg.solve(v["Σ"], r)).item()


LEAST_SQUARES = """Φ : N x M
w : M
t : N
E = (1/2) ‖t - Φ w‖²
∂E/∂w
"""

RIDGE = """Φ : N x M
w : M
t : N
λ : scalar
E = (1/2) ‖t - Φ w‖² + (λ/2) w^T w
∂E/∂w
"""


def _ridge(v, lam=True):
    r = v["t"] - v["Φ"] @ v["w"]
    return 0.5 * (r.T @ r).item() + (0.5 * v["λ"].item() * (v["w"].T @ v["w"]).item() if lam else 0.0)


LOGISTIC = """Φ : N x M
w : M
t : N
y = σ(Φ w)
E = -sum(t ⊙ log(y) + (1 - t) ⊙ log(1 - y))
∂E/∂w
"""


def _logistic(v):
    y = sigmoid(v["Φ"] @ v["w"])
    return -np.sum(v["t"] * np.log(y) + (1 - v["t"]) * np.log(1 - y))


def _t01(values, sizes):
    return {"t": values["t"] ** 2 / (1 + values["t"] ** 2)}


SOFTMAX_REGRESSION = """Φ : N x M
W : M x K
T : N x K, onehot rows
Y = softmax(Φ W, axis=1)
E = -sum(T ⊙ log(Y))
∂E/∂W
"""


def _softmax_regression(v):
    return -np.sum(v["T"] * _logsoftmax(v["Φ"] @ v["W"], 1))


# ====================================================================== GPML
GP = """y : n
K : n x n, spd
α = K^{-1} y
L = -(1/2) y^T α - (1/2) logdet(K)
∂L/∂K
"""


def _gp(v):
    return -0.5 * (v["y"].T @ np.linalg.solve(v["K"], v["y"])).item() - 0.5 * np.linalg.slogdet(v["K"])[1]


# ====================================================================== UFLDL
SPARSE_AUTOENCODER = """X : n x m
W1 : h x n
b1 : h
W2 : n x h
b2 : n
β : scalar
ρ = 0.05
A2 = σ(W1 X + b1)
ρh = (1/m) sum(A2, axis=1)
A3 = σ(W2 A2 + b2)
J = (1/(2 m)) ‖A3 - X‖_F^2 + β sum(ρ log(ρ / ρh) + (1 - ρ) log((1 - ρ) / (1 - ρh)))
∂J/∂W2, ∂J/∂W1
"""


def _sparse(v):
    m = v["X"].shape[1]
    A2 = sigmoid(v["W1"] @ v["X"] + v["b1"])
    ρh = A2.mean(axis=1, keepdims=True)
    A3 = sigmoid(v["W2"] @ A2 + v["b2"])
    ρ = 0.05
    kl = np.sum(ρ * np.log(ρ / ρh) + (1 - ρ) * np.log((1 - ρ) / (1 - ρh)))
    return np.sum((A3 - v["X"]) ** 2) / (2 * m) + v["β"].item() * kl


# ====================================================================== RL
REINFORCE = """Φ : A x d
θ : d
a : A, onehot
π = softmax(Φ θ)
J = a^T log(π)
∂J/∂θ
"""


def _reinforce(v):
    return (v["a"].T @ np.log(softmax(v["Φ"] @ v["θ"]))).item()


PPO = """Φ : A x d
θ : d
a : A, onehot
p : A, probability
Â : scalar
π = softmax(Φ θ)
r = (a^T π) / (a^T p)
L = r Â
∂L/∂θ
"""


def _ppo(v):
    π = softmax(v["Φ"] @ v["θ"])
    return (v["a"].T @ π).item() / (v["a"].T @ v["p"]).item() * v["Â"].item()


# ====================================================================== cells that name their gradients
# Lecture cells that write the intermediate gradients themselves (CS231n's dscores and dhidden,
# FlashAttention's dS, a layer norm's dZ, GPML's ∂K/∂ℓ): the result is printed in those names, as the
# source writes it, although the engine builds each of them in another form.
NAMED_TWO_LAYER = """X : N x D
W1 : D x H
b1 : (H,)
W2 : H x C
b2 : (C,)
Y : N x C, onehot rows
reg : scalar
h = relu(X @ W1 + b1)
S = h @ W2 + b2
P = softmax(S, axis=1)
L = -(1/N) sum(Y ⊙ log(P)) + reg (np.sum(W1 * W1) + np.sum(W2 * W2))
dS = (P - Y) / N
dh = (dS @ W2.T) * relu'(X @ W1 + b1)
∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2
"""


def _two_layer(v):
    h = np.maximum(v["X"] @ v["W1"] + v["b1"].reshape(1, -1), 0)
    S = h @ v["W2"] + v["b2"].reshape(1, -1)
    loss = -np.sum(v["Y"] * _logsoftmax(S, 1)) / S.shape[0]
    return loss + v["reg"].item() * (np.sum(v["W1"] ** 2) + np.sum(v["W2"] ** 2))


def _labels(values, sizes):
    """Y with one 1 per row, in the column its row number picks."""
    Y = np.zeros_like(values["Y"])
    Y[np.arange(Y.shape[0]), np.arange(Y.shape[0]) % Y.shape[1]] = 1.0
    return {"Y": Y}


NAMED_ATTENTION = """X : T x d
W_Q, W_K, W_V : d x d_k
G : T x d_k
Q = X W_Q
K = X W_K
V = X W_V
S = Q K^T / sqrt(d_k)
A = softmax(S, axis=1)
O = A V
L = sum(G ⊙ O)
dA = G V^T
dS = A ⊙ (dA - (A ⊙ dA) 𝟏 𝟏^T)
∂L/∂W_V, ∂L/∂W_Q, ∂L/∂W_K
"""


def _named_attention(v):
    Q, K, V = v["X"] @ v["W_Q"], v["X"] @ v["W_K"], v["X"] @ v["W_V"]
    return np.sum(v["G"] * (softmax(Q @ K.T / np.sqrt(Q.shape[1]), axis=1) @ V))


NAMED_LAYER_NORM = """X : T x d
W_Q, W_K : d x d_k
W_V : d x d
γ, β : (d,)
G : T x d
Q = X @ W_Q
K = X @ W_K
V = X @ W_V
A = softmax(Q @ K.T / np.sqrt(d_k), axis=1)
Z = X + A @ V
μ = np.mean(Z, axis=1, keepdims=True)
σ = np.sqrt(np.mean((Z - μ) ** 2, axis=1, keepdims=True) + 1e-5)
Zh = (Z - μ) / σ
Y = γ * Zh + β
L = np.sum(G * Y)
dZh = G * γ
dZ = (dZh - np.mean(dZh, axis=1, keepdims=True) - Zh * np.mean(dZh * Zh, axis=1, keepdims=True)) / σ
∂L/∂W_V, ∂L/∂γ, ∂L/∂β
"""


def _named_layer_norm(v):
    Q, K = v["X"] @ v["W_Q"], v["X"] @ v["W_K"]
    Z = v["X"] + softmax(Q @ K.T / np.sqrt(Q.shape[1]), axis=1) @ (v["X"] @ v["W_V"])
    Zc = Z - Z.mean(axis=1, keepdims=True)
    Zh = Zc / np.sqrt((Zc ** 2).mean(axis=1, keepdims=True) + 1e-5)
    return np.sum(v["G"] * (v["γ"].reshape(1, -1) * Zh + v["β"].reshape(1, -1)))


GP_HYPERPARAMETERS = """x, y : n
σ_f, ℓ, σ_n : scalar, positive
D = (x 𝟏_n^T - 𝟏_n x^T) ⊙ (x 𝟏_n^T - 𝟏_n x^T)
K = σ_f^2 exp(-D / (2 ℓ^2)) + σ_n^2 I_n
α = K^{-1} y
logp = -(1/2) y^T K^{-1} y - (1/2) log det(K) - (n/2) log(2 π)
dK_dℓ = σ_f^2 exp(-D / (2 ℓ^2)) ⊙ D / ℓ^3
∂logp/∂ℓ, ∂logp/∂σ_n
"""


def _gp_hyperparameters(v):
    x, y = v["x"], v["y"]
    D = (x - x.T) ** 2
    K = v["σ_f"].item() ** 2 * np.exp(-D / (2 * v["ℓ"].item() ** 2)) + v["σ_n"].item() ** 2 * np.eye(len(x))
    return (-0.5 * y.T @ np.linalg.solve(K, y)).item() - 0.5 * np.linalg.slogdet(K)[1] - len(x) / 2 * np.log(2 * np.pi)


# PRML (2.118)–(2.122): the log likelihood of N observations (rows of X), the centring written with 𝟏_N and,
# as NumPy users write it, as a broadcast
GAUSS_MLE = """X : N x D
μ : D
Σ : D x D, spd
Xc = X - 𝟏_N μ^T
ℓ = -(N D / 2) log(2 π) - (N/2) log det(Σ) - (1/2) tr(Xc Σ^{-1} Xc^T)
∂ℓ/∂μ, ∂ℓ/∂Σ
"""


def _gauss_mle(v):
    Xc = v["X"] - v["μ"].reshape(1, -1)
    N, D = Xc.shape
    Σ = v["Σ"]
    return (-N * D / 2 * np.log(2 * np.pi) - N / 2 * np.linalg.slogdet(Σ)[1]
            - 0.5 * np.trace(Xc @ np.linalg.solve(Σ, Xc.T)))


def E(source, id, cell, request, wrt, f, **kw):
    return Entry(source, id, cell, request, wrt, f, **kw)


ENTRIES = [
    # ------------------------------------------------------------------ cells that name their gradients
    # CS231n two-layer net: dW2 = hᵀ dscores + 2 reg W2, db2 = sum(dscores, axis=0), dW1 = Xᵀ dhidden + …
    E("CS231n", "named-two-layer-W1", NAMED_TWO_LAYER, "∂L/∂W1", "W1", _two_layer,
      forms={"shape": "Xᵀ dh + 2 reg W1"}, fixed=_labels),
    E("CS231n", "named-two-layer-b1", NAMED_TWO_LAYER, "∂L/∂b1", "b1", _two_layer,
      forms={"shape": "𝟏ᵀ dh"}, fixed=_labels),
    E("CS231n", "named-two-layer-W2", NAMED_TWO_LAYER, "∂L/∂W2", "W2", _two_layer,
      forms={"shape": "hᵀ dS + 2 reg W2"}, fixed=_labels),
    E("CS231n", "named-two-layer-b2", NAMED_TWO_LAYER, "∂L/∂b2", "b2", _two_layer,
      forms={"shape": "𝟏ᵀ dS"}, fixed=_labels),
    # FlashAttention's dQ = dS K (the 1/√d_k kept outside S), dK = dSᵀ Q, dV = Pᵀ dO
    E("Vaswani", "named-attention-Wv", NAMED_ATTENTION, "∂L/∂W_V", "W_V", _named_attention,
      forms={"shape": "Xᵀ Aᵀ G"}),
    E("Vaswani", "named-attention-Wq", NAMED_ATTENTION, "∂L/∂W_Q", "W_Q", _named_attention,
      forms={"shape": "(1/sqrt(d_k)) Xᵀ dS K"}),
    E("Vaswani", "named-attention-Wk", NAMED_ATTENTION, "∂L/∂W_K", "W_K", _named_attention,
      forms={"shape": "(1/sqrt(d_k)) Xᵀ dSᵀ Q"}),
    # a post-norm attention block: the layer norm's dZ, then the attention's dV = Aᵀ dZ
    E("CS231n", "named-layer-norm-Wv", NAMED_LAYER_NORM, "∂L/∂W_V", "W_V", _named_layer_norm,
      forms={"shape": "Xᵀ Aᵀ dZ"}),
    E("CS231n", "named-layer-norm-gamma", NAMED_LAYER_NORM, "∂L/∂γ", "γ", _named_layer_norm,
      forms={"shape": "𝟏ᵀ (G ⊙ Zh)"}),
    E("PRML", "gauss-mle-mean", GAUSS_MLE, "∂ℓ/∂μ", "μ", _gauss_mle, forms={"shape": "Σ⁻¹ Xcᵀ 𝟏"}),
    E("PRML", "gauss-mle-mean-broadcast", GAUSS_MLE.replace("𝟏_N μ^T", "μ^T"), "∂ℓ/∂μ", "μ", _gauss_mle,
      forms={"shape": "Σ⁻¹ Xcᵀ 𝟏"}),
    E("PRML", "gauss-mle-covariance", GAUSS_MLE, "∂ℓ/∂Σ", "Σ", _gauss_mle,
      forms={"shape": "(1/2) Σ⁻¹ Xcᵀ Xc Σ⁻¹ - (N/2) Σ⁻¹"}),
    # GPML (5.9) with θ = ℓ and θ = σ_n (∂K/∂σ_n = 2 σ_n I)
    E("GPML", "hyperparameter-lengthscale", GP_HYPERPARAMETERS, "∂logp/∂ℓ", "ℓ", _gp_hyperparameters,
      forms={"shape": "(1/2) (αᵀ dK_dℓ α - tr(K⁻¹ dK_dℓ))"}),
    E("GPML", "hyperparameter-noise", GP_HYPERPARAMETERS, "∂logp/∂σ_n", "σ_n", _gp_hyperparameters,
      forms={"shape": "(αᵀ α - tr(K⁻¹)) σ_n"}),
    # ------------------------------------------------------------------ attention
    E("Vaswani", "attention-Wv", ATTENTION, "∂L/∂Wv", "Wv", _attention,
      forms={"shape": "Xᵀ Aᵀ G"}),  # dV = Pᵀ dO, and ∂L/∂Wv = Xᵀ dV
    E("Vaswani", "attention-Wq", ATTENTION, "∂L/∂Wq", "Wq", _attention,
      forms={"shape": f"(1/sqrt(k)) Xᵀ ({ATTENTION_DS}) K"}),
    E("Vaswani", "attention-Wk", ATTENTION, "∂L/∂Wk", "Wk", _attention,
      forms={"shape": f"(1/sqrt(k)) Xᵀ ({ATTENTION_DS})ᵀ Q"}),
    E("Vaswani", "attention-dS", ATTENTION_SCORES, "∂L/∂S", "S", lambda v: _attention(v, S=v["S"]),
      forms={"shape": ATTENTION_DS}, fixed=_scores),
    E("Vaswani", "attention-dP", ATTENTION_SCORES, "∂L/∂A", "A", lambda v: _attention(v, A=v["A"]),
      forms={"shape": "G Vᵀ"}, fixed=_scores),  # dP = dO Vᵀ
    # ------------------------------------------------------------------ CS231n
    E("CS231n", "affine-dx", AFFINE, "∂L/∂X", "X", _affine, forms={"shape": "G Wᵀ"}),  # dx = dout Wᵀ
    E("CS231n", "affine-dw", AFFINE, "∂L/∂W", "W", _affine, forms={"shape": "Xᵀ G"}),  # dw = xᵀ dout
    E("CS231n", "affine-db", AFFINE, "∂L/∂b", "b", _affine, forms={"shape": "𝟏ᵀ G"}),  # db = sum(dout, axis=0)
    E("CS231n", "affine-1d-bias", AFFINE.replace("b : 1 x M", "b : (M,)"), "∂L/∂b", "b", _affine,
      forms={"shape": "𝟏ᵀ G"}),
    # softmax loss: dW = (1/N) Xᵀ (P − Y) with P = softmax(S) row by row
    E("CS231n", "softmax-dW", SOFTMAX_LOSS, "∂L/∂W", "W", _softmax_loss,
      forms={"shape": "(1/N) Xᵀ (softmax(S, axis=1) - Y)"}, fixed=_one_hot_rows),
    E("CS231n", "softmax-dS", SOFTMAX_LOSS, "∂L/∂S", "S", lambda v: _softmax_loss(v, S=v["S"]),
      forms={"shape": "(1/N) (softmax(S, axis=1) - Y)"}, fixed=_one_hot_rows),
    # batch norm: CS231n (Kratzert) prints dX = (1/N) γ ⊘ σ ⊙ (N dY − 𝟏 𝟏ᵀ dY − X̂ ⊙ 𝟏 (𝟏ᵀ (dY ⊙ X̂))).
    # Here δ₁ = dX̂ ⊘ s (dX̂ = G ⊙ γ): the same three terms. The sum 𝟏ᵀ (X̂ ⊙ 𝟏 c) of the middle one is
    # dropped from the last, as the source drops it: the columns of X̂ = (X − 𝟏 μ) ⊘ 𝟏 s sum to zero for
    # every X (𝟏ᵀ X̂ = 0 by the definition of μ).
    E("CS231n", "batchnorm-dX", BATCHNORM, "∂L/∂X", "X", _batchnorm,
      forms={"shape": "δ₁ - (1/N) Xh ⊙ (𝟏ᵀ (δ₁ ⊙ Xh)) - (1/N) 𝟏 (𝟏ᵀ δ₁)"},
      where="δ₁ = (G ⊙ γ) ⊘ s"),
    E("CS231n", "batchnorm-dgamma", BATCHNORM, "∂L/∂γ", "γ", _batchnorm,
      forms={"shape": "𝟏ᵀ (G ⊙ Xh)"}),  # dgamma = np.sum(dout * x_hat, axis=0)
    E("CS231n", "batchnorm-dbeta", BATCHNORM, "∂L/∂β", "β", _batchnorm, forms={"shape": "𝟏ᵀ G"}),
    # layer norm with ε = 1e-5: the number stays as written, inside the user's s (s³, never 10⁷ √10 …).
    # The source's dx = (1/s)(dx̂ − mean(dx̂) − x̂ mean(dx̂ ⊙ x̂)): the same three terms (𝟏ᵀ xc = 0 drops
    # the mean of the last, as in batch norm), except that it writes xc / s³ as x̂ / s²: the closest
    # form keeps xc and s³.
    E("CS231n", "layernorm-dx", LAYERNORM, "∂L/∂x", "x", _layernorm,
      forms={"shape": "g ⊙ γ / s - (1/d) (gᵀ γ) 𝟏 / s - (1/d) (1/s³) xc (γ ⊙ xc)ᵀ g"}),
    E("CS231n", "layernorm-dgamma", LAYERNORM, "∂L/∂γ", "γ", _layernorm, forms={"shape": "g ⊙ xh"}),
    # ------------------------------------------------------------------ ICA
    E("ICA", "log-cosh", LOG_COSH, "∂L/∂W", "W", _log_cosh, forms={"shape": "tanh(W x) xᵀ"}),
    E("ICA", "log-cosh-named", LOG_COSH_NAMED, "∂L/∂W", "W", _log_cosh, forms={"shape": "tanh(W x) xᵀ"}),
    E("ICA", "log-abs-det", LOG_ABS_DET, "∂L/∂W", "W", lambda v: np.log(abs(np.linalg.det(v["W"]))),
      forms={"shape": "W⁻ᵀ"}),
    E("ICA", "infomax", INFOMAX, "∂L/∂W", "W", _infomax, forms={"shape": "W⁻ᵀ + (1 - 2 y) xᵀ"}),
    # ------------------------------------------------------------------ back-propagation through time
    E("Goodfellow", "bptt-V", BPTT, "∂L/∂V", "V", _bptt,
      forms={"shape": "(softmax(V h1) - y1) h1ᵀ + (softmax(V h2) - y2) h2ᵀ"}),
    E("Goodfellow", "bptt-b", BPTT, "∂L/∂b", "b", _bptt, forms={"shape": "δ₂ + δ₁"}, where=BPTT_DELTAS),
    E("Goodfellow", "bptt-W", BPTT, "∂L/∂W", "W", _bptt, forms={"shape": "δ₂ h0ᵀ + δ₁ h1ᵀ", "numerator": "h0 δ₂ᵀ + h1 δ₁ᵀ"}, where=BPTT_DELTAS),
    E("Goodfellow", "bptt-U", BPTT, "∂L/∂U", "U", _bptt, forms={"shape": "δ₂ x1ᵀ + δ₁ x2ᵀ", "numerator": "x1 δ₂ᵀ + x2 δ₁ᵀ"}, where=BPTT_DELTAS),
    # ------------------------------------------------------------------ PRML
    E("PRML", "gauss-mean", GAUSS_MEAN, "∂L/∂μ", "μ", _gauss_quadratic, forms={"shape": "Σ⁻¹ (x - μ)"}),
    E("PRML", "gauss-covariance", GAUSS_COVARIANCE, "∂L/∂Σ", "Σ", _gauss,
      forms={"shape": "(1/2) (Σ⁻¹ (x - μ) (x - μ)ᵀ Σ⁻¹ - Σ⁻¹)"}),
    E("PRML", "gauss-covariance-log-det", GAUSS_COVARIANCE.replace("logdet(Σ)", "log det(Σ)"), "∂L/∂Σ", "Σ",
      _gauss, forms={"shape": "(1/2) (Σ⁻¹ (x - μ) (x - μ)ᵀ Σ⁻¹ - Σ⁻¹)"}),
    E("PRML", "least-squares", LEAST_SQUARES, "∂E/∂w", "w", lambda v: _ridge(v, lam=False),
      forms={"shape": "-Φᵀ (t - Φ w)"}),  # (3.13): −Σ (t_n − wᵀφ_n) φ_n
    E("PRML", "ridge", RIDGE, "∂E/∂w", "w", _ridge, forms={"shape": "λ w - Φᵀ (t - Φ w)"}),  # (3.27)
    E("PRML", "logistic", LOGISTIC, "∂E/∂w", "w", _logistic, forms={"shape": "Φᵀ (y - t)"}, fixed=_t01),
    E("PRML", "softmax-regression", SOFTMAX_REGRESSION, "∂E/∂W", "W", _softmax_regression,
      forms={"shape": "Φᵀ (Y - T)"}, fixed=lambda v, s: {"T": _one_hot_rows({"Y": v["T"], "X": v["Φ"],
                                                                                "W": v["W"]}, s)["Y"]}),
    # ------------------------------------------------------------------ GPML
    E("GPML", "marginal-likelihood", GP, "∂L/∂K", "K", _gp, forms={"shape": "(1/2) (α αᵀ - K⁻¹)"}),
    # ------------------------------------------------------------------ UFLDL
    E("UFLDL", "sparse-W2", SPARSE_AUTOENCODER, "∂J/∂W2", "W2", _sparse,
      forms={"shape": "(1/m) ((A3 - X) ⊙ A3 ⊙ (1 - A3)) A2ᵀ"}),  # ∇W⁽²⁾ = (1/m) Σ δ⁽³⁾ a⁽²⁾ᵀ
    # ∇W⁽¹⁾ = (1/m) Σ δ⁽²⁾ xᵀ, δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β (−ρ/ρ̂ + (1 − ρ)/(1 − ρ̂))) ⊙ f′(z⁽²⁾): the sparsity term
    # over its common denominator, ρ kept (0.05 as written); closest form: m ρ̂ stays the row sum A2 𝟏
    E("UFLDL", "sparse-W1", SPARSE_AUTOENCODER, "∂J/∂W1", "W1", _sparse,
      forms={"shape": "(((1/m) W2ᵀ ((A3 - X) ⊙ A3 ⊙ (1 - A3)) + β (ρ - ρh) ⊘ ((A2 𝟏) ⊙ (ρh - 1))) "
                      "⊙ A2 ⊙ (1 - A2)) Xᵀ"}),
    # ------------------------------------------------------------------ RL
    E("RL", "reinforce-softmax", REINFORCE, "∂J/∂θ", "θ", _reinforce, forms={"shape": "Φᵀ (a - π)"}),
    # the one-hot a picks π's entry (a ⊙ π = (aᵀ π) a), which leaves the user's r = (aᵀ π) / (aᵀ p)
    E("RL", "ppo-surrogate", PPO, "∂L/∂θ", "θ", _ppo,
      forms={"shape": "Â r Φᵀ (a - π)", "numerator": "Â r (a - π)ᵀ Φ"}),
]
