"""What the declarations say, applied to finished results.

A property such as ``onehot`` or ``probability`` says where a variable's
*values* lie (``𝟏ᵀp = 1``), not how a function of it changes: rewriting
``log(sum(p))`` to ``0`` before differentiating by ``p`` would lose the
``𝟏 / sum(p)`` of the derivative (and a Lagrangian's ``λ 𝟏``).  So the
expression graph is built without these facts, and this pass applies them
where they cannot change a derivative:

* to a finished result (a gradient, a Jacobian, a differential), whose value
  at every point the declarations allow is all that matters;
* to an intermediate result that is differentiated again (the gradient inside
  a Hessian), with the facts about the variable it is differentiated by left
  out (``exempt``).

The facts: a one-hot or probability variable sums to one along its axis
(:func:`~matcalc_magic.ops.properties.summing_axis`: ``𝟏ᵀy = 1``, ``𝟏ᵀY =
𝟏ᵀ``), so a combination Σ cᵢ yᵢ of such sums to Σ cᵢ (``𝟏ᵀ(y₁ + y₂) = 2``);
a one-hot vector picks one entry (``a ⊙ a = a``, ``(a ⊙ v) / (aᵀv) = a``,
and ``a ⊙ v − π aᵀv = (aᵀv) (a − π)``).  Symmetry (``Sᵀ = S``) is already used as expressions are built; here
it lets a transposed sum merge with its neighbours
(``(Wᵀ S − Λ Wᵀ)ᵀ + S W − W Λ = 2 (S W − W Λ)``).
"""

from __future__ import annotations

from ..graph import Expr, const, const_value, is_all_ones, is_const, leaves, ones, postorder, rebuild, var_props
from ..ops import build as B
from ..ops.algebra import split_coefficient
from ..ops.properties import SUMS_TO_ONE, is_onehot, summing_axis
from ..ops.registry import apply
from ..shapes import ONE


def use_facts(root: Expr, exempt: Expr | None = None) -> Expr:
    """``root`` simplified with the declared facts of its variables, except
    those of ``exempt`` (the variable ``root`` is still to be differentiated by)."""
    if not any(var_props(v) & SUMS_TO_ONE and v is not exempt for v in leaves(root, "var")) \
            and not any(n.op == "transpose" and n.args[0].op == "add" for n in postorder(root)):
        return root  # nothing to use: most results
    return rebuild(root, _Facts(exempt).replace)


class _Facts:
    def __init__(self, exempt: Expr | None):
        self.exempt = exempt
        self.pulled: set = set()  # scalars taken out of a sum by a one-hot pick

    def axis(self, e: Expr) -> int | None:
        """Along which axis ``e`` sums to one, if that may be used here."""
        base = e.args[0] if e.op == "transpose" else e
        return None if base is self.exempt else summing_axis(e)

    def onehot(self, e: Expr) -> bool:
        return e is not self.exempt and is_onehot(e)

    def replace(self, node: Expr, args: tuple) -> Expr:
        e = node if all(a is b for a, b in zip(args, node.args)) else apply(node.op, args, node.params)
        for _ in range(8):  # a rewrite may enable another at the same node
            out = self.rewrite(e)
            if out is None:
                return e
            e = out
        return e

    def rewrite(self, e: Expr) -> Expr | None:
        op = e.op
        if op == "sum":
            return self.sum_of(e)
        if op == "matmul":
            return self.chain(e)
        if op == "epow":
            return self.power(e)
        if op == "smul":
            return self.cancel(e)
        if op == "add":
            return self.merge_transposed(e) or self.factor_picked(e)
        if op == "broadcast":
            return self.counted(e)
        return None

    # ------------------------------------------------------------ sums to one
    def sum_of(self, e: Expr) -> Expr | None:
        """Σ of what sums to one: 𝟏ᵀy = 1, 𝟏ᵀY = 𝟏ᵀ, Σ Y = (number of columns),
        and of sums of such: 𝟏ᵀ(y₁ + y₂) = 2."""
        (a,) = e.args
        (along,) = e.params
        total = self.summed(a, along)
        if total is None:
            return None
        return total if along is None else B.smul(total, ones(*e.shape))

    def summed(self, x: Expr, along: int | None) -> Expr | None:
        """The scalar m with Σ x = m 𝟏 along axis ``along`` (None: over every
        entry), when x is a combination Σ cᵢ Yᵢ of variables that sum to one
        along it: the sum is spread over the terms, each of which gives 1 (or
        its number of columns or rows).  None unless every term does."""
        if x.op == "add":
            parts = [self.summed(t, along) for t in x.args]
            return None if any(p is None for p in parts) else B.add(*parts)
        if x.op == "smul":
            inner = self.summed(x.args[1], along)
            return None if inner is None else B.smul(x.args[0], inner)
        if x.op == "transpose" and x.args[0].op in ("add", "smul"):
            return self.summed(x.args[0], None if along is None else 1 - along)
        axis = self.axis(x)
        if axis is None:
            return None
        if along is None:
            return const(x.shape[1 - axis])
        return const(1) if along == axis else None

    @staticmethod
    def counted(e: Expr) -> Expr | None:
        """A number filled in (Σ(p + q) 𝟏 is 2 𝟏) is that multiple of 𝟏, so
        that it meets the numbers around it: 2 Σ(p + q) 𝟏 is 4 𝟏, not 2 2 𝟏."""
        (a,) = e.args
        if is_const(a) and const_value(a).is_Number and not is_all_ones(a):
            return B.smul(a, ones(*e.shape))
        return None

    def chain(self, e: Expr) -> Expr | None:
        """𝟏ᵀ Y = 𝟏ᵀ for columns that sum to one, Y 𝟏 = 𝟏 for rows that do (and
        𝟏ᵀ(y₁ + y₂) = 2, see :meth:`summed`); a scalar pulled out of a sum here
        leaves the product too, so that it meets the other scalars
        (Φᵀ ((aᵀπ) (a − π)) / (aᵀp) is r Φᵀ (a − π))."""
        f = list(e.args)
        for i, x in enumerate(f):
            if x.op == "smul" and x.args[0] in self.pulled:
                return B.smul(x.args[0], B.matmul(*f[:i], x.args[1], *f[i + 1:]))
        for i in range(len(f) - 1):
            a, b = f[i], f[i + 1]
            if is_all_ones(a) and a.shape[0] == ONE:
                total = self.summed(b, 0)
                if total is not None:
                    return B.matmul(*f[:i], B.smul(total, ones(ONE, b.shape[1])), *f[i + 2:])
            if is_all_ones(b) and b.shape[1] == ONE:
                total = self.summed(a, 1)
                if total is not None:
                    return B.matmul(*f[:i], B.smul(total, ones(a.shape[0], ONE)), *f[i + 2:])
        return None

    # ------------------------------------------------------------ one-hot
    def power(self, e: Expr) -> Expr | None:
        """aᵏ = a entry by entry for a one-hot a (its entries are 0 and 1)."""
        a, k = e.args
        if self.onehot(a) and is_const(k) and const_value(k).is_Integer and const_value(k) >= 1:
            return a
        return None

    def cancel(self, e: Expr) -> Expr | None:
        """X / s with every term of X a multiple of the scalar s: divide it out.
        (a ⊙ π − π aᵀ π) / (aᵀ π) = a − π for a one-hot a."""
        coef, body = e.args
        c = const(1)
        if coef.op == "smul" and is_const(coef.args[0]):
            c, coef = coef.args
        if coef.op != "epow" or not is_const(coef.args[1], -1):
            return None
        quotient = self.divide(body, coef.args[0])
        return None if quotient is None else B.smul(c, quotient)

    def divide(self, t: Expr, s: Expr) -> Expr | None:
        """t / s as an expression without the division, or None."""
        if t is s:
            return const(1)
        op = t.op
        if op == "add":
            parts = [self.divide(u, s) for u in t.args]
            return None if any(p is None for p in parts) else B.add(*parts)
        if op == "smul":
            c, x = t.args
            if c is s:
                return x
            inner = self.divide(x, s)
            return None if inner is None else B.smul(c, inner)
        if op == "transpose":
            inner = self.divide(t.args[0], s)
            return None if inner is None else B.transpose(inner)
        if op == "matmul":
            return self.divide_chain(t, s)
        if op == "hadamard":
            return self.pick(t, s)
        return None

    def divide_chain(self, t: Expr, s: Expr) -> Expr | None:
        f = t.args
        if s.op == "matmul":  # the scalar as a run of the chain: π aᵀ π / (aᵀ π) = π
            k = len(s.args)
            for i in range(len(f) - k + 1):
                if f[i:i + k] == s.args:
                    return B.matmul(*f[:i], *f[i + k:]) if len(f) > k else const(1)
        for i, x in enumerate(f):  # or inside one factor
            inner = self.divide(x, s) if x.op in ("add", "smul", "hadamard") else None
            if inner is not None:
                return B.matmul(*f[:i], inner, *f[i + 1:])
        return None

    def pick(self, t: Expr, s: Expr) -> Expr | None:
        """(a ⊙ v) / (aᵀ v) = a for a one-hot vector a: a ⊙ v is v's entry at a's
        one, which is aᵀ v, at a's one."""
        for i, a in enumerate(t.args):
            if not (self.onehot(a) and a.shape[1] == ONE):
                continue
            rest = t.args[:i] + t.args[i + 1:]
            v = rest[0] if len(rest) == 1 else B.hadamard(*rest)
            if s is B.matmul(B.transpose(a), v) or s is B.matmul(B.transpose(v), a):
                return a
        return None

    def factor_picked(self, e: Expr) -> Expr | None:
        """a ⊙ v − π (aᵀ v) = (aᵀ v) (a − π) for a one-hot vector a: a ⊙ v is
        (aᵀ v) a, so the scalar aᵀ v comes out when every other term carries it."""
        for i, t in enumerate(e.args):
            c, base = split_coefficient(t)
            if base.op != "hadamard":
                continue
            for k, a in enumerate(base.args):
                if not (self.onehot(a) and a.shape[1] == ONE):
                    continue
                rest = base.args[:k] + base.args[k + 1:]
                s = B.matmul(B.transpose(a), rest[0] if len(rest) == 1 else B.hadamard(*rest))
                others = [self.divide(u, s) for j, u in enumerate(e.args) if j != i]
                if others and all(o is not None for o in others):
                    self.pulled.add(s)
                    return B.smul(s, B.add(B.smul(c, a), *others))
        return None

    # ------------------------------------------------------------ symmetry
    def merge_transposed(self, e: Expr) -> Expr | None:
        """Spread a transposed sum into the sum around it when that merges terms
        (Sᵀ = S makes (Wᵀ S)ᵀ = S W), and take a common factor out: 2 (S W − W Λ)."""
        terms = list(e.args)
        for i, t in enumerate(terms):
            c, base = split_coefficient(t)
            if base.op != "transpose" or base.args[0].op != "add":
                continue
            inner = base.args[0].args
            spread = B.add(*terms[:i], *(B.smul(c, B.transpose(u)) for u in inner), *terms[i + 1:])
            count = len(spread.args) if spread.op == "add" else 1
            if count < len(terms) - 1 + len(inner):
                return _common_factor(spread)
        return None


def _common_factor(s: Expr) -> Expr:
    """2 A − 2 B → 2 (A − B): one number to read instead of one per term."""
    if s.op != "add":
        return s
    parts = [split_coefficient(t) for t in s.args]
    size = abs(parts[0][0])
    if size == 1 or any(abs(c) != size for c, _ in parts):
        return s
    return B.smul(size, B.add(*(B.smul(c / size, base) for c, base in parts)))
