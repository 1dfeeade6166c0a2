"""The user's definitions found again in a result by their values.

The printer finds a name where the result holds the very node the cell
defined (and a few rearrangements of it, see ``Printer.named``).  A result
often builds the same value in another form: the softmax rule gives
``A ⊙ (dA − ((A ⊙ dA) 𝟏) 𝟏ᵀ)`` as a broadcast of a row sum where the cell
wrote ``dS = A ⊙ (dA − (A ⊙ dA) 𝟏 𝟏ᵀ)``; a layer norm's gradient is the
cell's ``dZ`` only once identities of the mean are used.  Here every part of
the result is compared, by value at two random points, with the cell's
definitions; a part equal to one (or to its transpose) prints as its name.
A product's runs are compared too (``yᵀ K⁻¹`` is ``αᵀ`` for α = K⁻¹ y with
K symmetric), and a scaled product's factors with the scale taken in
(``(1/N) Xᵀ H`` is ``Xᵀ dh`` for dh = H / N).

Equal at two random points is not a proof: the numeric check of the printed
text, which reads the names back through their definitions, is.
"""

from __future__ import annotations

import numpy as np

from ..evaluate import evaluate
from ..graph import LEAVES as _LEAVES, Expr, leaves, postorder
from ..ops import build as B

#: results larger than this (in distinct nodes) are printed as they are:
#: comparing every part keeps the cost linear, but not small
MAX_NODES = 3000


class SampleValues:
    """Nodes' values at a cell's sample points ((variable values, sizes)
    pairs), kept for every result of the cell."""

    def __init__(self, points: list):
        self.points = points
        self.memos: list[dict] = [{} for _ in points]  # every node evaluated, for evaluate()
        self.finite: list[dict] = [{} for _ in points]  # those looked at, None where not finite

    def value(self, e: Expr, k: int) -> np.ndarray | None:
        """``e`` at point k, or None where it has no finite value there."""
        found = self.finite[k]
        if e in found:
            return found[e]
        env, sizes = self.points[k]
        try:
            with np.errstate(all="ignore"):
                out = evaluate(e, env, sizes, self.memos[k])
        except Exception:  # a value the point cannot give (a size, a singular matrix): no match
            out = None
        found[e] = out if out is not None and np.all(np.isfinite(out)) else None
        return found[e]


def recognised_names(root: Expr, labels: dict, values: SampleValues) -> dict:
    """{node: name} for parts of ``root`` (not ``root`` itself) whose value
    is one of the user's definitions, to print under the user's name."""
    if root is None or len(values.points) < 2 or len(postorder(root)) > MAX_NODES:
        return {}
    finder = _Finder(root, labels, values)
    return finder.found if finder.candidates else {}


class _Finder:
    def __init__(self, root: Expr, labels: dict, values: SampleValues):
        self.labels, self.values = labels, values
        self.value = values.value
        present = set(postorder(root))
        # definitions that are worth finding: not a leaf, not already there,
        # with a value that depends on the variables
        self.candidates: dict[tuple, list] = {}
        for node, name in labels.items():
            if node.op in _LEAVES or node in present or not _has_variable(node):
                continue
            value = self.value(node, 0)
            if value is None or not np.any(value):
                continue
            self.candidates.setdefault(node.shape, []).append((node, name, False))
            if not node.is_scalar:
                self.candidates.setdefault(node.shape[::-1], []).append((node, name, True))
        self.found: dict = {}
        if self.candidates:
            self.whole = root
            self._walk(root)

    def match(self, e: Expr):
        """(the definition, transposed?) equal in value to ``e``, or None."""
        options = self.candidates.get(e.shape)
        if not options or e.op in _LEAVES or e is self.whole:
            return None
        if self.value(e, 0) is None:
            return None
        for node, name, transposed in options:
            if all(_close(self.value(e, k), self.value(node, k), transposed) for k in range(len(self.values.points))):
                return node, name, transposed
        return None

    def record(self, e: Expr, hit) -> None:
        """``e`` prints as the name: ``e`` itself is named, or for a transpose
        ``eᵀ`` is, which the printer writes as the name's transpose."""
        node, name, transposed = hit
        self.found[B.transpose(e) if transposed else e] = name

    # ------------------------------------------------------------ the walk
    def _walk(self, root: Expr) -> None:
        seen: set = set()
        stack = [root]
        while stack:
            e = stack.pop()
            if e in seen or e in self.labels or e.op in _LEAVES:
                continue
            seen.add(e)
            hit = self.match(e)
            if hit is not None:
                self.record(e, hit)
                continue  # the name stands for all of it
            if e.op == "smul":
                self._scaled_factors(e)
            if e.op == "matmul":
                self._runs(e)
            stack.extend(e.args)

    def _scaled_factors(self, e: Expr) -> None:
        """``s (F G)``: a factor with the scale taken in may be a definition
        (the printer then writes ``F dG``, see ``Printer.rescaled_definition``)."""
        s, body = e.args
        if body.op not in ("matmul", "hadamard", "sum") or body in self.labels:
            return
        for f in body.args:
            if f.shape not in self.candidates:
                continue
            scaled = B.smul(s, f)
            if scaled in self.labels:
                return
            hit = self.match(scaled)
            if hit is not None and not hit[2]:
                self.found[scaled] = hit[1]
                return

    def _runs(self, e: Expr) -> None:
        """Consecutive factors of a product that make a definition: the
        printer finds a named product's factors in a longer one."""
        factors = e.args
        n = len(factors)
        for length in range(n - 1, 1, -1):  # longest first
            for i in range(n - length + 1):
                if (factors[i].shape[0], factors[i + length - 1].shape[1]) not in self.candidates:
                    continue
                run = B.matmul(*factors[i:i + length])
                if run.op != "matmul" or run.args != factors[i:i + length] or run in self.labels:
                    continue
                hit = self.match(run)
                if hit is not None:
                    self.record(run, hit)
                    return


def _has_variable(node: Expr) -> bool:
    return next(leaves(node, "var"), None) is not None


def _close(a, b, transposed: bool) -> bool:
    """Equal up to rounding: entries within 1e-9 of the larger's magnitude."""
    if a is None or b is None:
        return False
    if transposed:
        b = b.T
    if a.shape != b.shape:
        return False
    if not a.size:
        return True
    scale = max(1.0, float(np.max(np.abs(b))))
    if abs(float(a.flat[0]) - float(b.flat[0])) > 1e-9 * scale:  # most candidates differ at once
        return False
    return float(np.max(np.abs(a - b))) <= 1e-9 * scale
