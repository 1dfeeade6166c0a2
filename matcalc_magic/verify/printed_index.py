"""An index-notation result read back: ``∂z[i]/∂W[j,k] = δ[i,j] x[k]``.

The printed right-hand side is parsed with the cell's grammar and evaluated
entry-wise by NumPy: ``A[i,k]`` is the matrix ``A`` (evaluated by the witness,
:mod:`matcalc_magic.verify.witness`) with its axes named i and k, ``δ[i,j]`` the
identity, ``Σ_ab`` sums the rest of its term over a and b, juxtaposition
multiplies, and a term that lacks a free index is constant along it.  The
free indices and their sizes come from the printed left-hand side (``i`` of
``∂z[i]`` runs over z's rows), so a misprinted index is caught too.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field

import numpy as np

from ..errors import MatcalcError
from .printed import RESULT as PRINTED, PrintedForm
from ..calculus.index import kronecker_symbol
from .witness import PointValues, Reference, ReferenceError, elementwise
from ..syntax import tree as T

_LHS_INDICES = re.compile(r"\[(\w+(?:,\w+)*)\]$")  # the trailing [i,j] of ∂Y[i,j] (a name or a bracket before it)
_SUM = re.compile(r"[Σ∑]_(\w+)")
_LETTER = re.compile(r"[^\W\d_][₀-₉]*")  # a summation letter: a, or a₁ past z


@dataclass
class Labeled:
    """An array whose axes are named by index letters."""

    array: np.ndarray
    letters: tuple[str, ...]


@dataclass
class Marker:
    """``Σ_ab``: sum what follows in the term over these letters."""

    letters: tuple[str, ...]


@dataclass
class IndexForm:
    program: T.Program
    rhs: T.Node
    free: tuple[str, ...]  # in the order of the view's axes
    axes: tuple  # the symbolic size of each free index
    shape: tuple  # the view's symbolic shape
    shapes: dict  # sizes of the syntax nodes of bare I's, 𝟏's and 0 blocks
    #: id(node) → what its syntax alone says (has an index? its factors?), for
    #: the nodes of ``rhs``, which this form keeps alive: read once, not per point
    syntax: dict = field(default_factory=dict, repr=False, compare=False)

    def value(self, env: dict, sizes: dict, given: dict | None = None, point: PointValues | None = None) -> np.ndarray:
        from ..shapes import concrete

        lengths = {letter: concrete(size, sizes) for letter, size in zip(self.free, self.axes)}
        ref = Reference(self.program, env, sizes, self.shapes, given, point=point)
        out = _Evaluator(ref, lengths, self.syntax).terms(self.rhs)
        out = _arrange(out, self.free, lengths)
        return out.reshape(tuple(concrete(d, sizes) for d in self.shape))


def _letters(side: str) -> tuple[str, ...]:
    """The index letters written on one side of the left-hand side: ∂Y[i,j] → i, j."""
    m = _LHS_INDICES.search(side)
    return tuple(m.group(1).split(",")) if m else ()


def read_index(view) -> PrintedForm:
    """The index-notation view ``view`` read back (or why it cannot be)."""
    from ..syntax import parse
    from . import expected_shape

    text = view.rhs_text
    req = view.result.request
    try:
        num, _, den = view.lhs_text.partition("/∂")
        if req.direction is not None:  # (∇²_w J · v)[i,j]: the variable's letters
            num, den = "", num
        out_letters = _letters(num)
        var_letters = tuple(l for part in den.split("∂") for l in _letters(part))
        out_axes = tuple(d for d in req.of.shape if d != 1)
        var_axes = tuple(d for d in req.wrt.shape if d != 1)
        if req.direction is not None:
            out_axes = ()
        elif req.order == 2:
            out_axes = var_axes
            var_letters = var_letters  # ∂x[i]∂x[j]: both letters are in the denominator
        axes = (out_axes + var_axes) if req.result_order == 1 else var_axes + var_axes
        free = out_letters + var_letters
        if len(free) != len(axes) or len(set(free)) != len(free):
            raise ReferenceError(f"the printed indices {''.join(free)} do not match the shapes")
        source = f"{PRINTED} = {text}"
        (line,) = parse(source).statements
        program, rhs = view.result.cell.program, line.value
        shape = expected_shape(view.result.kind, "index", req.of.shape, req.wrt.shape)
        # the cell's own bare I's and 𝟏's (Xc = X − 𝟏 μᵀ), then the printed form's
        shapes = {**view.result.cell.node_shapes,
                  **_operand_shapes(view.result.cell, source, rhs, dict(zip(free, axes)))}
    except (MatcalcError, ReferenceError, KeyError) as e:
        message = getattr(e, "message", None) or str(e)
        return PrintedForm(text, error=f"the printed index form does not read back: {message}")
    return PrintedForm(text, index=IndexForm(program, rhs, free, axes, shape, shapes))


_UNSIZED = ("I", "𝟏")


def _operand_shapes(cell, source: str, rhs, sizes: dict) -> dict:
    """The sizes of the bare I's, 𝟏's and 0 blocks in an index form, type-checked
    after the cell: an indexed operand (``(I[1:, :])[i,j]``) is as long as
    the letters on it run (the left-hand side says how far a free one runs),
    a scalar factor (``‖X − (1/n) 𝟏 𝟏ᵀ X‖_F``) sizes itself."""
    checker = None
    for node in _operands(rhs):
        if isinstance(node, T.Index):
            operand, subs = node.operand, node.subscripts
            if isinstance(operand, T.ListLit) and len(operand.items) == 1:  # [K][(i,j),(k,l)]
                operand = operand.items[0]
                groups = [s.items if isinstance(s, T.TupleLit) else (s,) for s in subs]
                letters = [tuple(i.id for i in g if isinstance(i, T.Name)) for g in groups]
                want = [math.prod(sizes[l] for l in g) if all(l in sizes for l in g) else None for g in letters]
            elif all(isinstance(s, T.Name) for s in subs):
                want = [sizes.get(s.id) for s in subs]
            else:
                continue
        else:  # a scalar factor: ‖X − (1/n) 𝟏 𝟏ᵀ X‖_F, 1/(𝟏ᵀ log(q))
            operand, want = node, []
        checker = _size_operand(checker, cell, source, operand, want)
    return checker.settled_shapes() if checker is not None else {}


def _operands(node):
    """The indexed operands of an index form and its largest parts without
    indices (scalar factors), each sized on its own."""
    if isinstance(node, T.Index) or not _has_index(node):
        yield node
        return
    for child in T.children(node):
        yield from _operands(child)


def _size_operand(checker, cell, source: str, operand, want: list):
    """Type-check ``operand`` if it holds a bare I, 𝟏 or block, its axes as long
    as ``want`` says where known; returns the checker (made on first use)."""
    from .printed import _checker_after

    if not any(isinstance(n, T.Name) and n.id in _UNSIZED or isinstance(n, (T.Block, T.ListLit))
               for n in T.walk(operand)):
        return checker
    if checker is None:
        checker = _checker_after(cell, source)
        checker.close_each_statement = False
    value = checker.expr(operand)
    long_axes = [k for k in (0, 1) if value.shape[k] != 1] if len(want) == 1 else [0, 1]
    for axis, size in zip(long_axes, want):
        if size is not None and not checker.unify(value.shape[axis], size):
            raise ReferenceError(f"an operand has {value.shape[axis]} entries where the indices run over {size}")
    checker.closed(value)
    return checker


class _Evaluator:
    def __init__(self, ref: Reference, lengths: dict, syntax: dict | None = None):
        self.ref = ref
        self.syntax = {} if syntax is None else syntax
        self.lengths = dict(lengths)
        self.free = frozenset(lengths)
        self.kronecker = kronecker_symbol(ref.cell_names())  # δ, or I in a cell with a δ of its own

    def terms(self, node) -> Labeled:
        """The printed right-hand side: a sum of terms, each over the free
        indices only (a stray letter is caught at its term, before the sum
        would grow an axis for it)."""
        if isinstance(node, T.BinOp) and node.op in "+-":
            a, b = self.terms(node.left), self.terms(node.right)
            return _combine(a, b, np.add if node.op == "+" else np.subtract)
        out = self.expr(node)
        loose = [l for l in out.letters if l not in self.free]
        if loose:
            raise ReferenceError(f"index {loose[0]} is neither free nor summed")
        return out

    def expr(self, node) -> Labeled:
        if isinstance(node, T.BinOp) and node.op in "+-":
            a, b = self.expr(node.left), self.expr(node.right)
            return _combine(a, b, np.add if node.op == "+" else np.subtract)
        if isinstance(node, T.BinOp) and node.op in ("^", "**"):
            base = self.expr(node.left)
            p = self.ref.expr(node.right)
            return Labeled(base.array ** float(p[0, 0]), base.letters)
        if isinstance(node, T.Neg):
            inner = self.expr(node.operand)
            return Labeled(-inner.array, inner.letters)
        if isinstance(node, T.Inverse):  # x[i]^-1 of a scalar entry: its reciprocal
            inner = self.expr(node.operand)
            return Labeled(1.0 / inner.array, inner.letters)
        if isinstance(node, T.Juxt) or isinstance(node, T.BinOp) and node.op == "/":
            sign, factors = self.flatten(node)
            out = self.term(factors)
            return Labeled(sign * out.array, out.letters)
        return self.term([(node, False)])

    def has_index(self, node) -> bool:
        key = ("has_index", id(node))
        if key not in self.syntax:
            self.syntax[key] = _has_index(node)
        return self.syntax[key]

    def flatten(self, node) -> tuple[float, list]:
        key = ("flatten", id(node))
        if key not in self.syntax:
            sign, factors = _flatten(node, self.has_index)
            self.syntax[key] = sign, tuple(factors)
        return self.syntax[key]

    def is_delta(self, node) -> bool:
        """δ[i,j], or I[i,j] where the cell has a δ of its own (the printer's rule)."""
        return (isinstance(node, T.Index) and isinstance(node.operand, T.Name)
                and node.operand.id == self.kronecker)

    def term(self, factors) -> Labeled:
        """A product of factors (node, reciprocal?): ``Σ_a`` sums the whole term,
        as a reader takes it (Σ_a A[i,a] 1/y[a] divides inside the sum)."""
        summed: list[str] = []
        values = []
        for f, reciprocal in factors:
            if isinstance(f, T.Name) and _SUM.fullmatch(f.id):
                summed += _LETTER.findall(_SUM.fullmatch(f.id).group(1))
                continue
            if reciprocal:
                f = self.factor(f)
                f = Labeled(1.0 / f.array, f.letters)
            values.append(f)
        # a function name takes the operand right after it: log det(S) x[i] is log(det(S)) x[i]
        for k in range(len(values) - 2, -1, -1):
            f = values[k]
            fn = None if self.ref.is_value_name(getattr(f, "id", "")) else elementwise(getattr(f, "id", ""))
            if fn is not None:
                arg = values.pop(k + 1)
                arg = arg if isinstance(arg, Labeled) else self.factor(arg)
                values[k] = Labeled(fn(arg.array), arg.letters)
        factors = [f if isinstance(f, Labeled) else self.factor(f) for f in self.ordered(values)]
        return _contract(factors, summed)

    def ordered(self, factors):
        """δ's last: their sizes come from the factors that index the same letters."""
        return [f for f in factors if not self.is_delta(f)] + [f for f in factors if self.is_delta(f)]


    def factor(self, node) -> Labeled:
        if isinstance(node, T.Index) and all(isinstance(s, T.Name) for s in node.subscripts):
            letters = tuple(s.id for s in node.subscripts)
            if self.is_delta(node):
                if len(letters) != 2:
                    raise ReferenceError("δ takes two indices")
                n = [self.lengths.get(l) for l in letters]
                if None in n or n[0] != n[1]:
                    raise ReferenceError(f"δ[{','.join(letters)}] joins indices of unknown or different sizes")
                if letters[0] == letters[1]:
                    return Labeled(np.ones(n[0]), letters[:1])
                return Labeled(np.eye(n[0]), letters)
            return self.indexed(self.ref.expr(node.operand), letters)
        if isinstance(node, T.Index) and isinstance(node.operand, T.ListLit) and len(node.operand.items) == 1:
            return self.vec_entry(node)
        if isinstance(node, (T.BinOp, T.Neg, T.Juxt, T.Inverse)) and self.has_index(node):
            return self.expr(node)
        if isinstance(node, T.Name) and node.id == "0":
            return Labeled(np.array(0.0), ())
        value = self.ref.expr(node)  # a scalar coefficient such as (1/N)
        if value.shape != (1, 1):
            raise ReferenceError("a matrix without indices in an index form")
        return Labeled(np.array(value[0, 0]), ())

    def indexed(self, value: np.ndarray, letters: tuple) -> Labeled:
        axes = [n for n in value.shape]
        if len(letters) == 1 and 1 in axes:  # a vector: its one long axis
            arr = value.reshape(-1)
        elif len(letters) == 2:
            arr = value
        else:
            raise ReferenceError(f"{len(letters)} indices on a {value.shape[0]}×{value.shape[1]} value")
        for letter, n in zip(letters, arr.shape):
            if self.lengths.setdefault(letter, n) != n:
                raise ReferenceError(f"index {letter} runs over {self.lengths[letter]} and {n} entries")
        if len(letters) == 2 and letters[0] == letters[1]:
            return Labeled(np.diagonal(arr).copy(), letters[:1])
        return Labeled(arr, letters)

    def vec_entry(self, node: T.Index) -> Labeled:
        """``[K][(i,j),(k,l)]``: the entry of ∂vec Y/∂(vec X)ᵀ at rows vec(i,j), columns vec(k,l)."""
        matrix = self.ref.expr(node.operand.items[0])
        groups = []
        for sub in node.subscripts:
            items = sub.items if isinstance(sub, T.TupleLit) else (sub,)
            groups.append(tuple(i.id for i in items))
        letters = groups[0] + groups[1]
        shape = tuple(self.lengths[l] for l in letters)
        return Labeled(matrix.reshape(shape, order="F"), letters)


def _has_index(node) -> bool:
    return any(isinstance(n, T.Index) or (isinstance(n, T.Name) and _SUM.fullmatch(n.id))
               for n in T.walk(node))


def _flatten(node, has_index=None) -> tuple[float, list]:
    """The factors of a product written by juxtaposition and '/', each with
    whether it divides, and the product's sign (``-Σ_a x[a] y[a]`` parses
    with the minus on its first factor)."""
    out: list = []
    sign = 1.0
    stack = [(node, False)]
    while stack:
        n, reciprocal = stack.pop()
        if not (has_index or _has_index)(n) and not isinstance(n, T.Neg):  # a scalar factor, such as 1/(𝟏ᵀ log(q))
            out.append((n, reciprocal))
        elif isinstance(n, T.Juxt):
            stack += [(n.right, reciprocal), (n.left, reciprocal)]
        elif isinstance(n, T.BinOp) and n.op == "/":
            stack += [(n.right, not reciprocal), (n.left, reciprocal)]
        elif isinstance(n, T.Neg):
            sign = -sign
            stack.append((n.operand, reciprocal))
        else:
            out.append((n, reciprocal))
    return sign, out


def _contract(factors: list[Labeled], summed: list[str]) -> Labeled:
    """The product of ``factors`` summed over ``summed``, contracted pairwise
    (one product over every index of a long chain would not fit in memory)."""
    if not factors:
        return Labeled(np.array(1.0), ())
    letters = list(dict.fromkeys(l for f in factors for l in f.letters))
    if len(letters) > len(string.ascii_letters):
        raise ReferenceError("more indices than the check can name")
    code = dict(zip(letters, string.ascii_letters))
    kept = tuple(l for l in letters if l not in summed)
    spec = ",".join("".join(code[l] for l in f.letters) for f in factors) + "->" + "".join(code[l] for l in kept)
    return Labeled(np.einsum(spec, *(f.array for f in factors), optimize=True), kept)


def _combine(a: Labeled, b: Labeled, op) -> Labeled:
    letters = a.letters + tuple(l for l in b.letters if l not in a.letters)
    return Labeled(op(_expand(a, letters), _expand(b, letters)), letters)


def _expand(x: Labeled, letters: tuple) -> np.ndarray:
    """x's array with an axis per letter (size 1 where x is constant along it)."""
    order = [x.letters.index(l) for l in letters if l in x.letters]
    arr = np.transpose(x.array, order) if x.letters else x.array
    shape = []
    present = iter(arr.shape)
    for l in letters:
        shape.append(next(present) if l in x.letters else 1)
    return arr.reshape(shape)


def _arrange(x: Labeled, free: tuple, lengths: dict) -> np.ndarray:
    extra = [l for l in x.letters if l not in free]
    if extra:
        raise ReferenceError(f"index {extra[0]} is neither free nor summed")
    return np.broadcast_to(_expand(x, free), tuple(lengths[l] for l in free)).copy()
