"""Python names in generated code: the cell's own where Python accepts them.

A result is returned under the name its request reads as (``dJ_dW``,
``d2J_dw2`` for a Hessian, ``hvp_J_w_v`` for a Hessian-vector product, in the
user's letters: ``dJ_dθ``), a function's value under its own name (``J``).
Names are compared as Python compares identifiers (NFKC: ``x²`` is ``x2``).
"""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..render.names import name_python

#: names generated code defines or imports besides the cell's
RESERVED = frozenset({
    "np", "torch", "jax", "jnp", "math", "like", "sigmoid", "softmax", "log_softmax", "logsumexp", "logdet",
    "derivatives", "check_derivatives", "ValueError", "AssertionError", "tuple", "dict", "len", "float", "range",
    "zip", "max", "abs", "min", "sum", "print", "isinstance", "list",
})


def identifier(text: str) -> str:
    """``x^T A x`` → ``x_T_A_x``: the characters a Python name may have (θ,
    μ too), anything else as one ``_``, in NFKC form as Python reads names."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if ("_" + ch).isidentifier() else "_" for ch in text)
    text = re.sub("_+", "_", text).strip("_") or "f"
    return "v_" + text if text[0].isdigit() else text


def value_name(request) -> str:
    """The name a differentiated function's value is returned under."""
    return identifier(request.of_text)


def result_name(request, cell) -> str:
    """The name a result is returned (or assigned) under, unique in the cell:
    a request whose name is taken (by a variable or an earlier request) gets
    ``_2``."""

    def base(req) -> str:
        of, wrt = identifier(req.of_text), identifier(req.wrt_name)
        if req.direction is not None:
            return f"hvp_{of}_{wrt}_{identifier(req.direction_name)}"
        return f"d2{of}_d{wrt}2" if req.order == 2 else f"d{of}_d{wrt}"

    if cell is None:
        return base(request)
    taken = {identifier(n) for n in (*cell.variables, *cell.definitions)}
    for req in cell.requests:  # in the cell's order, so each view of a result agrees
        name, k = base(req), 1
        while name in taken:
            k += 1
            name = f"{base(req)}_{k}"
        taken.add(name)
        if req is request:
            return name
    return base(request)  # the request of a claim, not one of the cell's


class Namer:
    """Hands out names that are valid, unique and clash with nothing reserved."""

    def __init__(self, taken=()):
        self.taken: set[str] = set(RESERVED)
        for t in taken:
            self.taken.add(self.key(t))
        self.count = 0

    @staticmethod
    def key(name: str) -> str:
        return unicodedata.normalize("NFKC", name)

    def claim(self, wanted: str) -> str:
        """``wanted`` as a Python name (the user's spelling when possible),
        with ``_2``, ``_3``… if it is taken."""
        base = name_python(wanted)
        if keyword.iskeyword(base) or not base.isidentifier():
            base = identifier(base) + "_"
        name, k = base, 1
        while self.key(name) in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(self.key(name))
        return name

    def temporary(self) -> str:
        while True:
            name = f"t_{self.count}"
            self.count += 1
            if self.key(name) not in self.taken:
                self.taken.add(name)
                return name
