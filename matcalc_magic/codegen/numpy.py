"""NumPy: the printer's own spelling, plus the helpers NumPy lacks."""

from __future__ import annotations

from .printer import CodePrinter


class NumpyPrinter(CodePrinter):
    backend = "numpy"
    helper_code = {
        "sigmoid": "def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * x))",
        "logsumexp": (
            "def logsumexp(x, axis=None):\n"
            "    top = np.max(x, axis=axis, keepdims=True)\n"
            "    return top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))"
        ),
        "softmax": "def softmax(x, axis=None):\n    return np.exp(x - logsumexp(x, axis))",
        "log_softmax": "def log_softmax(x, axis=None):\n    return x - logsumexp(x, axis)",
        "logdet": (
            "def logdet(a):  # log det a, defined where det a > 0\n"
            "    sign, value = np.linalg.slogdet(a)\n"
            "    return np.where(sign > 0, value, np.nan).reshape(1, 1)"
        ),
    }
    helper_needs = {"softmax": ("logsumexp",), "log_softmax": ("logsumexp",)}
