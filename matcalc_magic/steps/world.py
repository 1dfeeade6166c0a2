"""The cell seen one definition at a time: the setting of every step.

A derivation by hand never expands the whole forward pass: it writes
``dz = dW x``, ``dh = relu′(z) ⊙ dz``, ``dθ = U dh`` — each definition's
*local* differential, in terms of the differentials of the named quantities
it uses.  :class:`World` builds that setting from a checked cell:

* every named quantity ``z`` becomes a variable of its own (``var("z")``), and
  each definition is rewritten over those variables (its *local* form), also
  where the engine flattened a named product into a longer one
  (``J = yᵀ y`` is stored as ``xᵀ Wᵀ W x``): :func:`fold` recognises runs of
  factors, as the printers do;
* the path from the variable to the function (the quantities in between, in
  cell order) and each one's local differential, with one ``tangent`` leaf per
  named input (``dz``, ``dh``, …);
* derived expressions are *folded* back onto the names (``σ(Z2)`` → ``A2``),
  so a formula reads as the textbook's and SymPy sees one symbol per name.

Everything here is numeric-ready: a step's expression evaluates once the
named quantities and their differentials have values
(:func:`evaluation_env`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import graph as G
from ..calculus.adjoint import adjoint
from ..calculus.constraints import use_facts
from ..calculus.differentiate import joint_differentials, tangent_of
from ..calculus.tidy import tidy
from ..evaluate import evaluate
from ..graph import Expr
from ..ops import build as B
from ..ops.registry import MissingRule, apply, rule
from ..shapes import ONE


# ====================================================================== folding
def fold(root: Expr, table: dict) -> Expr:
    """Replace the nodes of ``table`` (by identity) by their values, also where
    a named product or sum was flattened into a longer one."""
    if not table:
        return root
    chains, groups = [], []
    for node, rep in table.items():
        if node.op == "matmul":
            chains.append((node.args, rep))
            flipped = tuple(B.transpose(f) for f in reversed(node.args))
            chains.append((flipped, B.transpose(rep)))
        elif node.op in ("add", "hadamard"):
            groups.append((node.op, node.args, rep))
    chains.sort(key=lambda c: -len(c[0]))
    groups.sort(key=lambda g: -len(g[1]))

    def replace(node: Expr, new_args: tuple):
        hit = table.get(node)
        if hit is not None:
            return hit
        if node.op == "matmul" and chains:
            factors, out, i, changed = node.args, [], 0, False
            while i < len(factors):
                for chain, rep in chains:
                    k = len(chain)
                    if k < len(factors) and factors[i:i + k] == chain:
                        out.append(rep)
                        i += k
                        changed = True
                        break
                else:
                    out.append(new_args[i])
                    i += 1
            if changed:
                return B.matmul(*out)
        if node.op in ("add", "hadamard") and groups:
            args = list(node.args)
            for op, members, rep in groups:
                if op != node.op or len(members) >= len(args):
                    continue
                if all(any(m is a for a in args) for m in members):
                    keep = [new_args[j] for j, a in enumerate(args) if not any(m is a for m in members)]
                    return apply(op, tuple([rep] + keep))
        return None

    return G.rebuild(root, replace)


def jvp(root: Expr, seeds: dict) -> Expr | None:
    """The differential of ``root`` with ``seeds`` (variable → tangent) varying
    together; None where ``root`` depends on none of them."""
    return joint_differentials(root, seeds).get(root)


def push_transpose(e: Expr, rows: bool = False) -> Expr:
    """(a ⊙ b)ᵀ → aᵀ ⊙ bᵀ and (a + b)ᵀ → aᵀ + bᵀ where that leaves fewer
    transposes to read: (Aᵀ + X⁻ᵀ)ᵀ → A + X⁻¹, and the notes' row form
    (δ₁ U) ⊙ relu′(z)ᵀ, but (ŷ − y)ᵀ stays as it is.  ``rows`` pushes on a
    tie too (a row-vector layout: ((ŷ − y)ᵀ U) ⊙ relu′(z)ᵀ)."""

    def replace(node: Expr, args: tuple):
        if node.op != "transpose":
            return None
        (a,) = args
        if a.op in ("hadamard", "add", "hdiv"):
            pushed = apply(a.op, tuple(push_transpose(B.transpose(x), rows) for x in a.args))
            plain = B.transpose(a)
            better = _transposes(pushed) - _transposes(plain)
            return pushed if better < 0 or (rows and better == 0 and a.op == "hadamard") else plain
        if a.op == "broadcast" and a.args[0].is_scalar:
            return B.broadcast(a.args[0], (a.shape[1], a.shape[0]))
        return None

    return G.rebuild(e, replace)


def _filled(e: Expr) -> Expr | None:
    """A constant matrix c·𝟏 as a factor of a product: written c 𝟏, 𝟏ᵀ."""
    if e.op == "transpose":
        inner = _filled(e.args[0])
        return None if inner is None else B.transpose(inner)
    if e.op == "broadcast" and G.is_const(e.args[0]) and (e.shape[0] == ONE or e.shape[1] == ONE):
        ones = G.ones(*e.shape)
        return ones if G.is_const(e.args[0], 1) else B.smul(e.args[0], ones)
    return None


def _transposes(e: Expr) -> int:
    """Transpose marks a reader sees (with repetition; X⁻ᵀ counts once)."""
    if e.op == "transpose":
        return 1 + _transposes(e.args[0])
    return sum(_transposes(a) for a in e.args)


def explicit(e: Expr) -> Expr:
    """Broadcasts and sums as products with 𝟏, so the shapes show:
    ``b₁ 𝟏ᵀ`` (a bias broadcast over the columns), ``A 𝟏`` (row sums)."""

    # a scalar broadcast is written b 𝟏ᵀ only beside a matrix term (Z = W A + b 𝟏ᵀ);
    # p − y broadcast over x stays p − y
    def bare(t: Expr) -> Expr:
        return t.args[1] if t.op == "smul" and t.args[0].is_scalar else t

    spread: set = set()
    for node in G.postorder(e):
        if node.op == "add" and any(bare(t).op != "broadcast" for t in node.args):
            spread.update(id(bare(t)) for t in node.args if bare(t).op == "broadcast")

    def replace(node: Expr, args: tuple):
        if node.op == "matmul" and any(_filled(a) is not None for a in args):
            return G.make("matmul", tuple(_filled(a) or a for a in args))
        if node.op == "broadcast":
            (a,) = args
            if G.is_const(a) or not (a.shape[0] == ONE or a.shape[1] == ONE):
                return None
            if a.is_scalar and id(node) not in spread:
                return None
            rows, cols = node.shape
            left = G.ones(rows, ONE) if a.shape[0] == ONE and rows != ONE else None
            right = G.ones(ONE, cols) if a.shape[1] == ONE and cols != ONE else None
            if left is None and right is None:
                return None
            factors = [f for f in (left, a, right) if f is not None]
            return G.make("matmul", tuple(factors)) if not a.is_scalar else B.matmul(*factors)
        if node.op == "sum":
            (a,) = args
            (axis,) = node.params
            rows, cols = a.shape
            factors = [a]
            if axis in (None, 0) and rows != ONE:
                factors.insert(0, G.ones(ONE, rows))
            if axis in (None, 1) and cols != ONE:
                factors.append(G.ones(cols, ONE))
            if len(factors) == 1:
                return None
            return G.make("matmul", tuple(factors))
        return None

    return G.rebuild(e, replace)


def is_column(shape) -> bool:
    return shape[1] == ONE


def is_elementwise(node: Expr) -> bool:
    if node.op == "epow":
        return True
    try:
        return "elementwise" in rule(node.op).extra
    except MissingRule:  # pragma: no cover - every op has a rule
        return False


# ====================================================================== the world
@dataclass
class Quantity:
    """A named quantity ``z = W x + b₁`` of the cell (or the function itself)."""

    name: str | None  # None: the request's function is not a named quantity
    node: Expr  # the cell's expression (over declared variables)
    var: Expr  # var(name): the quantity as a symbol
    local: Expr  # the definition over the variables and earlier names
    text: str = ""  # the definition as the user wrote it
    tangent: Expr | None = None
    inputs: list = field(default_factory=list)  # varying inputs (vars) of ``local``
    differential: Expr | None = None  # local differential over the inputs' tangents


class World:
    """Named quantities, their local forms and differentials, the path."""

    def __init__(self, result):
        self.result = result
        self._clean: dict = {}
        cell, req = result.cell, result.request
        self.cell = cell
        self.X: Expr = req.wrt
        self.x_name: str = req.wrt_name
        self.dX: Expr = result.derivative.dx if result.derivative.dx is not None else tangent_of(req.wrt)
        moved = {}
        if req.wrt_name in cell.definitions and cell.definitions[req.wrt_name] is not req.wrt:
            moved = {cell.definitions[req.wrt_name]: req.wrt}

        self.quantities: dict[str, Quantity] = {}
        seen: dict = {}
        for name, node in cell.definitions.items():
            if name == req.wrt_name:
                continue
            node = G.substitute(node, moved) if moved else node
            if node.op in G.LEAVES or node in seen:
                continue
            table = {q.node: q.var for q in self.quantities.values()}
            local = fold(node, table)
            if local.op in G.LEAVES:
                continue
            seen[node] = name
            self.quantities[name] = Quantity(name, node, G.var(name, node.shape), local,
                                             cell.definition_text.get(name, ""),
                                             G.tangent("d" + name, node.shape))
        self.order = {name: k for k, name in enumerate(self.quantities)}
        self.by_var = {q.var: q for q in self.quantities.values()}

        # the function differentiated
        top_name = seen.get(req.of)
        if top_name is not None:
            self.top = self.quantities[top_name]
        else:
            local = fold(req.of, {q.node: q.var for q in self.quantities.values()})
            self.top = Quantity(None, req.of, req.of, local, req.of_text)
        self.labels: dict = {q.local: q.name for q in self.quantities.values()}
        self.refold_table = {q.local: q.var for q in self.quantities.values() if q.local.op not in G.LEAVES}

        self.path = self._path()
        for q in self.path:
            seeds = {v: self.tangent(v) for v in q.inputs}
            # a differential is a finished result: the declared facts (𝟏ᵀy = 1) may be used on it
            q.differential = self.refold(use_facts(jvp(q.local, seeds))) if seeds else None

    # ------------------------------------------------------------ structure
    def named_inputs(self, e: Expr) -> list[Expr]:
        """The variables of ``e`` that are named quantities or the variable X."""
        return [v for v in G.leaves(e, "var") if v in self.by_var or v is self.X]

    def _path(self) -> list[Quantity]:
        """Quantities through which J depends on X, in cell order, J last."""
        reaches: dict[Expr, bool] = {self.X: True}
        for q in self.quantities.values():
            reaches[q.var] = any(reaches.get(v, False) for v in self.named_inputs(q.local))
        upstream: set = set()
        stack = [self.top.local]
        while stack:
            e = stack.pop()
            for v in self.named_inputs(e):
                if v not in upstream and v is not self.X:
                    upstream.add(v)
                    stack.append(self.by_var[v].local)
        path = []
        for q in list(self.quantities.values()) + ([self.top] if self.top.name is None else []):
            if q is self.top or (q.var in upstream and reaches[q.var]):
                q.inputs = [v for v in self.named_inputs(q.local) if reaches.get(v, False)]
                if q is self.top or q.inputs:
                    path.append(q)
        if self.top not in path:  # pragma: no cover - the top always closes the path
            path.append(self.top)
        return path

    def tangent(self, v: Expr) -> Expr:
        return self.dX if v is self.X else self.by_var[v].tangent

    def quantity_of(self, v: Expr) -> Quantity | None:
        return self.by_var.get(v)

    def name_of(self, v: Expr) -> str:
        return self.x_name if v is self.X else self.by_var[v].name

    def consumers(self, v: Expr) -> list[Quantity]:
        return [q for q in self.path if any(i is v for i in q.inputs)]

    def depends(self) -> bool:
        """Whether the function depends on X at all."""
        return bool(self.top.inputs)

    # ------------------------------------------------------------ algebra
    def refold(self, e: Expr | None) -> Expr | None:
        if e is None:
            return None
        return fold(e, self.refold_table)

    def clean(self, e: Expr) -> Expr:
        """Simplify a derived expression and write it with the cell's names."""
        hit = self._clean.get(e)
        if hit is None:
            hit = self._clean[e] = self._cleaned(e)
        return hit

    def _cleaned(self, e: Expr) -> Expr:
        from ..calculus.tidy import cost

        plain = self.refold(use_facts(e))
        try:
            tidied = self.refold(tidy(plain))
        except Exception:  # noqa: BLE001  # pragma: no cover - tidy is best effort here
            return plain
        return tidied if cost(tidied) + _awkward(tidied) <= cost(plain) + _awkward(plain) else plain

    def pullback(self, q: Quantity, v: Expr, seed: Expr) -> Expr:
        """The adjoint of ``q``'s local differential at input ``v``, applied to
        ``seed`` (the trace-trick move of one definition)."""
        return adjoint(q.differential, self.tangent(v), seed)


def _awkward(e: Expr) -> int:
    """A reading penalty for SymPy's ``-1 + A`` (a sum led by a negative
    number), which the notes would write as ``−(1 − A)``."""
    penalty = 0
    for node in G.postorder(e):
        if node.op == "add":
            for t in node.args:
                c = t.args[0] if t.op == "broadcast" else t
                if G.is_const(c) and G.const_value(c).is_Number and G.const_value(c) < 0:
                    penalty += 10
    return penalty


_WORLDS: dict = {}


def world_of(result) -> World:
    """The world of ``result``, built once (views and layouts share it)."""
    import weakref

    key = id(result)
    hit = _WORLDS.get(key)
    if hit is not None and hit[0]() is result:
        return hit[1]
    world = World(result)
    if len(_WORLDS) > 64:
        _WORLDS.clear()
    _WORLDS[key] = (weakref.ref(result), world)
    return world


# ====================================================================== values
def evaluation_env(context, env: dict, sizes: dict, direction: np.ndarray | None = None) -> dict:
    """Values for every name a step may mention: the cell's variables (``env``),
    the named quantities (forward pass), their differentials pushed forward
    from ``direction`` (the dX of the request's variable), and the δ symbols
    the backprop view introduces."""
    world: World = context.world
    out = dict(env)
    memo: dict = {}
    for q in world.quantities.values():
        out[q.name] = evaluate(q.node, env, sizes, memo)
    if direction is not None:
        out[world.dX.params[0]] = np.asarray(direction, dtype=float)
        for q in world.path:
            if q.tangent is not None and q.differential is not None:
                out[q.tangent.params[0]] = evaluate(q.differential, out, sizes)
    for symbol, value in context.symbols:
        out[G.var_name(symbol)] = evaluate(value, out, sizes)
    return out
