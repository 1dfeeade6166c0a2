"""Cells several test modules share."""

# CS224n "Computing Neural Network Gradients", §4: the one-layer network
CS224N_DECLARATIONS = """\
x : n
W : m x n
b1 : m
U : k x m
b2 : k
y : k, onehot
"""
CS224N_REQUESTS = "∂J/∂U, ∂J/∂b2, ∂J/∂W, ∂J/∂b1, ∂J/∂x\n"
CS224N = CS224N_DECLARATIONS + """\
z = W x + b1
h = relu(z)
θ = U h + b2
ŷ = softmax(θ)
J = CE(y, ŷ)
""" + CS224N_REQUESTS

# the same with the notes' δ₁ as a claim
CS224N_CLAIMED = CS224N + "claim ∂J/∂θ = ŷ - y\n"


# Cells that hung, leaked a traceback, or were refused although valid.
# Refused, each with the span its one error points at and what it says:
REFUSED = [
    ("x : n\nJ = (9 ** 9 ** 9) * sum(x)\n∂J/∂x", "9 ** 9 ** 9", "this power is about 10^369,693,100"),
    ("x : n\nJ = sum(1e999999999 x)\n∂J/∂x", "1e999999999", "the number 1e999999999 is beyond the range"),
    # ** groups from the right: the first power out of range is 2 ** 65536, the last five 2s
    ("x : n\nc : scalar\nJ = c * 2 ** 2 ** 2 ** 2 ** 2 ** 2 * sum(x)\n∂J/∂c", "2 ** 2 ** 2 ** 2 ** 2",
     "this power is about 10^19,728"),
    ("A : n x n\nhessian(tr(A^{-100}), A)", "hessian(tr(A^{-100}), A)", "goes up to A^20, not A^100"),
    ("x : n\nJ = sum(x ** (1/0))\n∂J/∂x", "1/0", "division by zero"),
    ("x : n\nJ = sum(x / 0)\n∂J/∂x", "x / 0", "division by zero"),
    ("x : n\nJ = x^T I_" + "1" * 5000 + " x\n∂J/∂x", "I_" + "1" * 5000, "has 5,000 digits"),
    ("x : n\nz = x - x\nJ = sum(z)\n∂J/∂z", "z", "z = x - x is identically zero, so nothing depends on it"),
]
# Derived, each with a piece of its printed result:
DERIVED = [
    ("q : n\nf = log(sum(log(q)))\n∂f/∂q", "∂f/∂q = "),
    ("x : n\np : n\nf = norm(x ⊘ p)\n∂f/∂x", "∂f/∂x = "),
    ("x : n\nW : m x k\nF = tr(diag(x)) W\n∂F/∂x", "∂F[i,j]/∂x[k] = W[i,j]"),
    ("x : 2\nJ = x^T I_₂ x\n∂J/∂x", "∂J/∂x = 2 x"),
    ("x : " + "+".join(["n"] * 5000) + "\n∂(sum(x))/∂x", "∂(𝟏ᵀ x)/∂x = 𝟏"),
    ("x : n  # a lone surrogate: \ud800\n∂(sum(x))/∂x", "∂(𝟏ᵀ x)/∂x = 𝟏"),
]
