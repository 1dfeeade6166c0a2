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
