"""Typed expression graph: hash-consed nodes that each know their shape.

An :class:`Expr` is ``op(args; params)`` with a shape (rows, cols).  Nodes
are interned, so structurally equal expressions are the *same* object: a
shared sub-expression is stored once, comparisons are identity checks and
results stay linear in size however often a node is reused.

Leaves are ops too: ``var`` (a declared variable), ``tangent`` (the ``dX`` of
a differential), ``const`` (a 1×1 number or size symbol), ``eye``, ``ones``,
``zeros``.  Build nodes through :mod:`matcalc_magic.ops.build`, which
simplifies as it constructs; :func:`make` is the raw constructor.
"""

from __future__ import annotations

import weakref
import zlib
from functools import lru_cache
from typing import Callable, Iterable, Iterator

import sympy

from .limits import check_constant
from .shapes import ONE, Shape


class Expr:
    __slots__ = ("op", "args", "params", "shape", "is_scalar", "skey", "__weakref__")

    op: str
    args: tuple["Expr", ...]
    params: tuple
    shape: Shape

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    def __repr__(self) -> str:  # debugging aid; users see render/*
        from .render.text import to_text

        try:
            return f"<{to_text(self)} : {self.shape[0]}×{self.shape[1]}>"
        except Exception:  # pragma: no cover - repr must never fail
            return f"<{self.op}{self.args}>"

    # Interned: identity is equality.
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __reduce__(self):  # pickling re-interns
        return (make, (self.op, self.args, self.params, self.shape))


_interned: "weakref.WeakValueDictionary[tuple, Expr]" = weakref.WeakValueDictionary()


def make(op: str, args: tuple = (), params: tuple = (), shape: Shape | None = None) -> Expr:
    """The unique node ``op(args; params)``; its shape comes from the op's rule
    unless given (leaves give theirs)."""
    args = tuple(args)
    params = tuple(params)
    if shape is None:
        from .ops.registry import rule

        shape = rule(op).shape(tuple(a.shape for a in args), params)
    r, c = shape
    if not isinstance(r, sympy.Basic):
        r = sympy.sympify(r)
    if not isinstance(c, sympy.Basic):
        c = sympy.sympify(c)
    shape = (r, c)
    # Sums and Hadamard products are one node whatever the order of their
    # terms; the node keeps the order it was first written in (the user's).
    key_args = tuple(sorted(args, key=_skey)) if op in COMMUTATIVE else args
    key = (op, key_args, params, shape)
    node = _interned.get(key)
    if node is None:
        node = object.__new__(Expr)
        node.op, node.args, node.params, node.shape = op, args, params, shape
        node.is_scalar = r == ONE and c == ONE  # 1×1: a scalar
        node.skey = structural_key(op, args, params, shape)
        _interned[key] = node
    return node


COMMUTATIVE = frozenset({"add", "hadamard"})


def _skey(e: "Expr") -> int:
    return e.skey


def structural_key(op: str, args: tuple, params: tuple, shape) -> int:
    """A number that depends only on the expression's structure (up to the
    order of terms in sums and Hadamard products), the same in every process."""
    children = sorted(a.skey for a in args) if op in COMMUTATIVE else [a.skey for a in args]
    text = "|".join([op, ";".join(_param_text(p) for p in params), _text(shape[0]), _text(shape[1])]
                    + [str(k) for k in children])
    return zlib.crc32(text.encode("utf-8"))


# Printing a SymPy size or number is slow and the same few recur: print each once.
_text = lru_cache(maxsize=8192, typed=True)(str)


def _param_text(p) -> str:
    if isinstance(p, frozenset):
        return ",".join(sorted(map(str, p)))
    return _text(p)


# ------------------------------------------------------------------ leaves
def var(name: str, shape: Shape, props: Iterable[str] = ()) -> Expr:
    return make("var", (), (name, frozenset(props)), shape)


def tangent(name: str, shape: Shape) -> Expr:
    return make("tangent", (), (name,), shape)


def const(value) -> Expr:
    return make("const", (), (check_constant(sympy.sympify(value)),), (ONE, ONE))


def written_const(value, text: str) -> Expr:
    """A number as the cell wrote it (``1e-5``): its exact value, and the text
    printers show and simplification leaves alone."""
    return make("const", (), (check_constant(sympy.sympify(value)), text), (ONE, ONE))


def written_text(e: Expr) -> str | None:
    """How the cell wrote a constant (``1e-5``), or None if it was computed."""
    return e.params[1] if e.op == "const" and len(e.params) > 1 else None


def eye(n) -> Expr:
    if n == ONE:
        return const(1)
    return make("eye", (), (), (n, n))


def ones(rows, cols) -> Expr:
    if rows == ONE and cols == ONE:
        return const(1)
    return make("ones", (), (), (rows, cols))


def zeros(rows, cols) -> Expr:
    if rows == ONE and cols == ONE:
        return const(0)
    return make("zeros", (), (), (rows, cols))


def is_zero(e: Expr) -> bool:
    return e.op == "zeros" or (e.op == "const" and e.params[0] == 0)


def is_all_ones(e: Expr) -> bool:
    """The all-ones matrix, in any of its spellings (1, 𝟏, broadcast 1)."""
    if e.op == "ones" or (e.op == "const" and e.params[0] == 1):
        return True
    return e.op == "broadcast" and is_all_ones(e.args[0])


LEAVES = frozenset({"var", "tangent", "const", "eye", "ones", "zeros", "commutation"})


def is_const(e: Expr, value=None) -> bool:
    if e.op != "const":
        return False
    return value is None or e.params[0] == value


def const_value(e: Expr):
    return e.params[0]


def var_name(e: Expr) -> str:
    return e.params[0]


def var_props(e: Expr) -> frozenset:
    return e.params[1] if e.op == "var" else frozenset()


# ------------------------------------------------------------------ traversal
_POSTORDER: "weakref.WeakKeyDictionary[Expr, tuple]" = weakref.WeakKeyDictionary()


def postorder(*roots: Expr, stop=()) -> list[Expr]:
    """Every node reachable from ``roots``, children before parents, once;
    nodes in ``stop`` are listed but not looked inside.

    Nodes never change, so the order of a single root is computed once."""
    if stop:
        return _postorder(roots, stop)
    if len(roots) == 1:
        cached = _POSTORDER.get(roots[0])
        if cached is None:
            cached = _POSTORDER[roots[0]] = tuple(_postorder(roots))
        return list(cached)
    return _postorder(roots)


def _postorder(roots, stop=()) -> list[Expr]:
    seen: set[int] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node in stop:
            continue
        for child in reversed(node.args):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def leaves(root: Expr, op: str | None = None) -> Iterator[Expr]:
    for node in postorder(root):
        if not node.args and (op is None or node.op == op):
            yield node


def depends_on(root: Expr, target: Expr) -> bool:
    return any(node is target for node in postorder(root))


def dependency_set(root: Expr, target: Expr) -> set[int]:
    """ids of the nodes of ``root`` whose value depends on ``target``."""
    found: set[int] = set()
    for node in postorder(root):
        if node is target or any(id(a) in found for a in node.args):
            found.add(id(node))
    return found


def rebuild(root: Expr, replace: Callable[[Expr, tuple], Expr | None]) -> Expr:
    """Rebuild bottom-up; ``replace(node, new_args)`` may return a substitute.

    Unchanged sub-graphs are kept as they are (same objects).
    """
    return rebuild_all(root, replace)[id(root)]


def rebuild_all(root: Expr, replace: Callable[[Expr, tuple], Expr | None]) -> dict[int, Expr]:
    """Like :func:`rebuild`, returning what became of every node (by id)."""
    from .ops.registry import apply

    memo: dict[int, Expr] = {}
    for node in postorder(root):
        new_args = tuple(memo[id(a)] for a in node.args)
        out = replace(node, new_args)
        if out is None:
            if all(n is o for n, o in zip(new_args, node.args)):
                out = node
            else:
                out = apply(node.op, new_args, node.params)
        memo[id(node)] = out
    return memo


def substitute(root: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """Replace nodes (by identity) and re-simplify what sits above them."""
    if not mapping:
        return root
    return rebuild(root, lambda node, _args: mapping.get(node))


def size_of(root: Expr) -> int:
    """Number of distinct nodes (the DAG size)."""
    return len(postorder(root))
