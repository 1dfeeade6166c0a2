"""What every printer shares: dispatch, precedence, brackets, signs.

A printer dispatches on the operator: a method ``_print_<op>`` if the format
needs one, else the operator's :class:`~matcalc_magic.ops.registry.Notation`
(``func``, ``infix``, ``postfix``).  Brackets are decided in one place,
:meth:`Printer.paren`, from numeric precedence (as SymPy's printers do).
Nodes that the user named (``z = W x + b``) print as their name.
"""

from __future__ import annotations

import weakref

import sympy

from ..graph import Expr, const_value, is_all_ones, is_const, written_text
from ..ops.registry import ADD, ATOM, FUNC, MUL, NEG, POW, rule
from ..shapes import ONE

#: functions along an axis (params = (axis,)), which print it unless implied
AXIS_FUNCTIONS = frozenset({"softmax", "logsoftmax", "logsumexp"})


def negative_part(e: Expr):
    """``-c X`` → ``c X`` (a positive multiple); None if ``e`` is not negative."""
    from ..ops import build as B

    if is_const(e) and const_value(e).could_extract_minus_sign():
        from ..graph import const

        return const(-const_value(e))
    if e.op == "smul" and is_const(e.args[0]):
        c = const_value(e.args[0])
        if c.could_extract_minus_sign():
            return B.smul(-c, e.args[1])
    return None


def _size(e: Expr) -> int:
    from ..graph import size_of

    return size_of(e)


class _Unbuilt:
    """An operation to print as it stands, without building (and so
    simplifying) it: 𝟏ᵀ dS must not become (1/N) 𝟏ᵀ (P − Y) again, nor
    A (b 𝟏ᵀ) a product of other factors."""

    def __init__(self, op: str, args: tuple, params: tuple = (), shape: tuple | None = None):
        self.op, self.args, self.params, self.shape = op, args, params, shape
        self.is_scalar = shape == (ONE, ONE)


def squared_norm_of(e: Expr):
    """``Σ a^∘2`` is ``‖a‖²`` (Frobenius for a matrix): the ``a``, or None."""
    if e.op == "sum" and e.params[0] in (None, 0, 1) and e.is_scalar:
        a = e.args[0]
        if a.op == "epow" and is_const(a.args[1], 2):
            return a.args[0]
    return None


# What printers work out from a set of names (their reorderings, transposes
# and products), kept per names dict while it is unchanged: a view prints its
# formula, its parts and its shapes with many printers over the same names.
_CACHE: dict = {}


def _remember(labels: dict, key: str, value) -> None:
    if not labels:
        return
    entry = _CACHE.get(id(labels))
    if entry is None or entry["labels"] is not labels or entry["size"] != len(labels):
        if len(_CACHE) > 256:
            _CACHE.clear()
        entry = _CACHE[id(labels)] = {"labels": labels, "size": len(labels)}
    entry[key] = value


def _cached(labels: dict, key: str):
    entry = _CACHE.get(id(labels))
    if entry is None or entry["labels"] is not labels or entry["size"] != len(labels):
        return None
    return entry.get(key)


_TRANSPOSED: "weakref.WeakKeyDictionary[Expr, tuple]" = weakref.WeakKeyDictionary()


def _transposed_forms(node: Expr) -> tuple:
    """The ways ``nodeᵀ`` can appear in a result: Nᵀ, and for a sum or a
    Hadamard product the sum (product) of the transposes.  Nodes never
    change, so each is worked out once."""
    forms = _TRANSPOSED.get(node)
    if forms is None:
        from ..ops import build as B

        forms = (B.transpose(node),)
        if node.op in ("add", "hadamard"):  # (a ⊙ b)ᵀ is also aᵀ ⊙ bᵀ
            forms += ((B.add if node.op == "add" else B.hadamard)(*(B.transpose(a) for a in node.args)),)
        _TRANSPOSED[node] = forms
    return forms


class Printer:
    """Base printer; subclasses set the symbols of their format."""

    mul_sep = " "
    add_sep = " + "
    sub_sep = " - "
    neg_sign = "-"

    transpose_mark = "ᵀ"
    inverse_mark = "⁻¹"
    inverse_transpose_mark = "⁻ᵀ"

    def __init__(self, labels: dict | None = None, aliases: bool = True):
        self.labels = labels or {}
        self.aliases = aliases  # also find names written in another order or transposed
        self._exempt: Expr | None = None
        self._chains: list | None = None
        self._chains_by_start: dict | None = None
        self._alias: dict | None = None

    def named(self, e: Expr) -> str | None:
        """The user's name for ``e``, also when it is written in another order
        (b + W x for z = W x + b) or transposed (δᵀ for δ), else None."""
        hit = self._named(e)
        if hit is None:
            return None
        name, transposed = hit
        return self.name(name) + (self.transpose_mark if transposed else "")

    def _print_transpose(self, e: Expr) -> str:
        a = e.args[0]
        untransposed = self.untransposed_name(a)
        if untransposed is not None:
            return untransposed
        if a.op == "inv" and a not in self.labels:  # (X⁻¹)ᵀ is written X⁻ᵀ
            return self.paren(a.args[0], FUNC) + self.inverse_transpose_mark
        return self.paren(a, FUNC) + self.transpose_mark

    def _print_inv(self, e: Expr) -> str:
        return self.paren(e.args[0], FUNC) + self.inverse_mark

    def _print_zeros(self, e: Expr) -> str:
        return "0"

    # ------------------------------------------------------------ blocks
    slice_sep = ", "

    def size(self, d) -> str:
        return str(d)

    def subscripted(self, base: str, rng: str) -> str:
        return f"{base}[{rng}]"

    def block(self, items: list[str], axis: int) -> str:
        return "[" + ("; " if axis == 0 else ", ").join(items) + "]"

    def _slice(self, e: Expr, axis: int) -> str:
        """θ[1:], Θ[:, 1:], X[0, 2]: the rows (axis 0) and/or columns kept.  A
        slice of a slice along the other axis is one subscript."""
        ranges = {axis: e.params}
        a = e.args[0]
        if a.op == ("cols" if axis == 0 else "rows") and a not in self.labels:
            ranges[1 - axis] = a.params
            a = a.args[0]
        parts = []
        for ax in (0, 1):
            if ax in ranges:
                parts.append(self._range(*ranges[ax], a.shape[ax]))
            elif a.shape[ax] != ONE:
                parts.append(":")
        if len(parts) == 2 and a.shape[1] == ONE and parts[1] == ":":
            parts = parts[:1]  # a column's rows
        elif len(parts) == 2 and a.shape[0] == ONE and parts[0] == ":":
            parts = parts[1:]  # a row's columns
        return self.subscripted(self.sliced(a), self.slice_sep.join(parts))

    def sliced(self, a: Expr) -> str:
        """The operand of a subscript."""
        return self.paren(a, FUNC + 1)

    def _range(self, start, stop, length) -> str:
        if stop - start == 1:  # one row or column: its index
            return self.size(start)
        return (self.size(start) if start != 0 else "") + ":" + ("" if stop == length else self.size(stop))

    def _print_rows(self, e: Expr) -> str:
        return self._slice(e, 0)

    def _print_cols(self, e: Expr) -> str:
        return self._slice(e, 1)

    def _pad(self, e: Expr, axis: int) -> str:
        """[0; θ[1:]]: zero blocks around a slice (the adjoint of slicing)."""
        import sympy

        before, total = e.params
        a = e.args[0]
        after = sympy.expand(total - before - a.shape[axis])
        alone = (before == 0) != (after == 0)  # one zero block, sized by the block's own length
        blocks = ([self.zero_block(before, a, axis, alone)] if before != 0 else []) + [self._print(a)]
        blocks += [self.zero_block(after, a, axis, alone)] if after != 0 else []
        return self.block(blocks, axis)

    def zero_block(self, length, beside: Expr, axis: int, alone: bool) -> str:
        """A zero block ``length`` long along ``axis`` beside ``beside``.  A bare 0
        reads back where that length is 1 ([0; θ[1:]]), or where it is the
        formula's only part of open size and the only zero of its block (then the
        result's shape fixes it: I_n ⊗ [I_m; 0]); else it says its size."""
        if length == 1 or (alone and getattr(self, "_open_parts", None) == 1):
            return "0"
        rows, cols = (length, beside.shape[1]) if axis == 0 else (beside.shape[0], length)
        return self.sized_zeros(rows, cols)

    def sized_zeros(self, rows, cols) -> str:
        return f"zeros({self.size(rows)}, {self.size(cols)})"

    def _print_pad_rows(self, e: Expr) -> str:
        return self._pad(e, 0)

    def _print_pad_cols(self, e: Expr) -> str:
        return self._pad(e, 1)

    def _print_concat(self, e: Expr) -> str:
        return self.block([self._print(a) for a in e.args], e.params[0])

    def _named_or_exempt(self, e: Expr) -> bool:
        return e is not self._exempt and self._named(e) is not None

    def untransposed_name(self, e: Expr) -> str | None:
        """If ``e`` prints as a name's transpose (δᵀ), the name: (δᵀ)ᵀ is δ."""
        if e is self._exempt:
            return None
        hit = self._named(e)
        if hit is not None and hit[1]:
            return self.name(hit[0])
        return None

    def _named(self, e: Expr):
        label = self.labels.get(e)
        if label is not None:
            return label, False
        if not self.labels or not self.aliases:
            return None
        if self._alias is None:
            self._alias = _cached(self.labels, "alias")
        if self._alias is None:
            alias: dict = {}
            for node, name in self.labels.items():
                if node.op in ("add", "hadamard"):
                    alias.setdefault((node.op, frozenset(node.args)), (name, False))
                if node.op not in ("var", "const") and not node.is_scalar:
                    for f in _transposed_forms(node):
                        if f not in self.labels:
                            alias.setdefault(f, (name, True))
                            if f.op in ("add", "hadamard"):
                                alias.setdefault((f.op, frozenset(f.args)), (name, True))
            self._alias = alias
            _remember(self.labels, "alias", alias)
        hit = self._alias.get(e)
        if hit is None and e.op in ("add", "hadamard"):
            hit = self._alias.get((e.op, frozenset(e.args)))
        if hit is None:
            return None
        name, transposed = hit
        if self._exempt is not None and self.labels.get(self._exempt) == name:
            return None  # δ = (ŷ − y)ᵀ is not printed in terms of δ
        return name, transposed

    def label_chains(self) -> list:
        """Named products as factor tuples (and their transposes), longest first,
        so ``W x xᵀ`` prints as ``y xᵀ`` when the cell says ``y = W x``."""
        if self._chains is None:
            self._chains = _cached(self.labels, "chains")
        if self._chains is None:
            from ..ops import build as B

            chains = []
            for node, name in self.labels.items():
                if node.op == "matmul":
                    chains.append((node.args, name, False))
                    chains.append((tuple(B.transpose(f) for f in reversed(node.args)), name, True))
            chains.sort(key=lambda c: -len(c[0]))
            self._chains = chains
            _remember(self.labels, "chains", chains)
        return self._chains

    def chains_at(self, factors: tuple, i: int) -> list:
        """The named products that ``factors[i:]`` may start with, longest
        first: looked up by their first two factors, so a product costs the
        same however many names a cell has."""
        if i + 1 >= len(factors):
            return ()
        if self._chains_by_start is None:
            self._chains_by_start = _cached(self.labels, "chains_by_start")
        if self._chains_by_start is None:
            index: dict = {}
            for chain in self.label_chains():
                if len(chain[0]) > 1:
                    index.setdefault(chain[0][:2], []).append(chain)
            self._chains_by_start = index
            _remember(self.labels, "chains_by_start", index)
        return self._chains_by_start.get(factors[i:i + 2], ())

    # ------------------------------------------------------------ entry
    def doprint(self, e: Expr, expand_root: bool = False) -> str:
        """Print ``e``; with ``expand_root`` its own label is not used."""
        self._exempt = e if expand_root else None
        return self._print(e)

    def _print(self, e: Expr) -> str:
        if e is not self._exempt:
            named = self.named(e)
            if named is not None:
                return named
        method = getattr(self, "_print_" + e.op, None)
        if method is not None:
            return method(e)
        notation = rule(e.op).notation
        return getattr(self, "_print_kind_" + notation.kind)(e, notation)

    # ------------------------------------------------------------ brackets
    def precedence(self, e: Expr) -> int:
        if e is not self._exempt:
            hit = self._named(e)
            if hit is not None:
                return POW if hit[1] else ATOM
        if e.op == "const":
            if written_text(e) is not None:
                return ATOM
            v = const_value(e)
            if v.is_Number and v < 0:
                return NEG
            if v.is_Rational and not v.is_Integer:
                return MUL
            if not v.is_Atom:
                return ADD if isinstance(v, sympy.Add) else MUL
            return ATOM
        if e.op == "smul":
            return NEG if negative_part(e) is not None else MUL
        if e.op == "sqrt" and squared_norm_of(e.args[0]) is not None:
            return ATOM
        if e.op == "epow" and e.is_scalar and is_const(e.args[1]) and const_value(e.args[1]) < 0:
            return MUL
        if e.op == "sum" and squared_norm_of(e) is not None:
            return POW  # ‖x‖² binds like a power
        if e.op == "broadcast":  # printed out as in _print_broadcast: b 𝟏ᵀ, c 𝟏, 𝟏
            if e.args[0].is_scalar:
                from ..graph import ones
                from ..ops import build as B

                return self.precedence(B.smul(e.args[0], ones(*e.shape)))
            return MUL
        return rule(e.op).notation.precedence

    def wrap(self, text: str) -> str:
        return f"({text})"

    def paren(self, e: Expr, level: int, strict: bool = False) -> str:
        text = self._print(e)
        p = self.precedence(e)
        if p < level or (strict and p == level) or (level >= POW and _applied_by_name(e)):
            return self.wrap(text)
        return text

    # ------------------------------------------------------------ sums
    def operands(self, e: Expr) -> list:
        """The arguments of an elementwise operation as written: a broadcast
        is implicit there (W X + b), as in textbooks and NumPy, where the
        operands as written still broadcast to the result's shape (b + r for
        a column and a row); else it is written out ((Cᵀ 𝟏) 𝟏ᵀ + 𝟏 (𝟏ᵀ C))."""
        written = [self.implicit(a) for a in e.args]
        if all(any(a.shape[k] == e.shape[k] for a in written) for k in (0, 1)):
            return written
        return list(e.args)

    def implicit(self, e: Expr) -> Expr:
        if e.op == "broadcast" and e not in self.labels:
            return e.args[0]
        return e

    def named_sums(self) -> list:
        """[(terms, node)] of the named sums, most terms first: a sum that
        contains all of a named sum's terms prints its name (z + c for
        W x + b + c when the cell says z = W x + b)."""
        found = _cached(self.labels, "sums")
        if found is None:
            found = sorted(((frozenset(self.implicit(a) for a in n.args), n) for n in self.labels if n.op == "add"),
                           key=lambda t: -len(t[0]))
            _remember(self.labels, "sums", found)
        return found

    def _with_named_parts(self, e: Expr, terms: list) -> list:
        if not self.aliases:
            return terms
        for parts, node in self.named_sums():
            if node is e or node is self._exempt or len(parts) >= len(terms) or not parts <= set(terms):
                continue
            if self.labels.get(self._exempt) == self.labels[node]:
                continue
            k = min(terms.index(t) for t in parts)
            terms = [t for t in terms if t not in parts]
            terms.insert(k, node)
        return terms

    def _print_add(self, e: Expr) -> str:
        terms = self._with_named_parts(e, self.operands(e))
        # Terms keep the order they were written in; mirror-image products
        # read alphabetically: X (b cᵀ + c bᵀ).
        if all(t.op == "matmul" for t in terms) and len({_size(t) for t in terms}) == 1:
            terms.sort(key=self._print)
        # A + Aᵀ rather than Aᵀ + A: a transposed term follows its original.
        for t in list(terms):
            if t.op == "transpose" and t.args[0] in terms:
                terms.remove(t)
                terms.insert(terms.index(t.args[0]) + 1, t)
        # a named term prints as its name, sign included: + δ₂, not − (…)
        negs = [None if self._named_or_exempt(t) else negative_part(t) for t in terms]
        # Lead with a positive term: ŷ − y rather than −y + ŷ.
        if negs[0] is not None:
            for k, n in enumerate(negs):
                if n is None:
                    terms.insert(0, terms.pop(k))
                    negs.insert(0, negs.pop(k))
                    break
        out = []
        for i, (t, n) in enumerate(zip(terms, negs)):
            if i == 0:
                out.append(self.paren(t, ADD) if n is None else self.neg_sign + self.paren(n, MUL))
            elif n is None:
                out.append(self.add_sep + self.paren(t, ADD, strict=False))
            else:
                out.append(self.sub_sep + self.paren(n, MUL))
        return "".join(out)

    # ------------------------------------------------------------ products
    def _print_smul(self, e: Expr) -> str:
        s, a = e.args
        rescaled = self.rescaled_definition(e)
        if rescaled is not None:
            return rescaled
        n = negative_part(e)
        if n is not None:
            return self.neg_sign + (self._print_smul(n) if n.op == "smul" else self.paren(n, MUL))
        if is_const(s) and written_text(s) is not None:
            return self.written(written_text(s)) + self.mul_sep + self.paren(a, MUL)
        if is_const(s):
            value = const_value(s)
            if a.op == "smul" and self.is_named_scalar(a.args[0]) and not value.is_Integer:
                # (1/m) λ X reads better as (λ/m) X
                value, a = value * self.scalar_symbol(a.args[0]), a.args[1]
            return self.coefficient(value) + self.mul_sep + self.paren(a, MUL)
        if s.op == "epow" and is_const(s.args[1], -1) and not is_const(s.args[0]):
            return self.fraction(a, s.args[0])  # (x − a) / ‖x − a‖
        left = self.paren(s, MUL + 1) if s.op != "smul" else self.paren(s, MUL)
        return left + self.mul_sep + self.paren(a, MUL)

    def rescaled_definition(self, e: Expr) -> str | None:
        """``s (g ⊙ xc)`` printed as ``g ⊙ xh`` when the cell says xh = s xc,
        ``(1/N) Xᵀ (P − Y)`` as ``Xᵀ dS`` when it says dS = (P − Y)/N, and
        ``(1/N) 𝟏ᵀ (P − Y)`` as ``𝟏ᵀ dS``: building the result pulled the
        scalar out of the product (or the sum), which hid the user's name."""
        s, body = e.args
        if not self.labels or body.op not in ("hadamard", "matmul", "sum") or body in self.labels:
            return None
        from ..ops import build as B

        for k, f in enumerate(body.args):
            named = B.smul(s, f)
            if named in self.labels and named is not self._exempt:
                factors = body.args[:k] + (named,) + body.args[k + 1:]
                if body.op == "sum":
                    return self._print_sum(_Unbuilt("sum", factors, body.params, body.shape))
                if body.op == "matmul":
                    return self._print_matmul(_Unbuilt("matmul", factors))
                notation = rule("hadamard").notation
                return f" {self.symbol(notation)} ".join(self.paren(x, notation.precedence, strict=True)
                                                          for x in factors)
        return None

    def summand(self, a: Expr) -> str:
        """What 𝟏ᵀ … 𝟏 sums: a product flat (Σ⁻¹ Xcᵀ 𝟏, as a product with 𝟏
        reads), anything else bracketed unless it is a name or an atom."""
        return self.paren(a, MUL if a.op == "matmul" else MUL + 1)

    def fraction(self, numerator: Expr, denominator: Expr) -> str:
        return f"{self.paren(numerator, MUL)} / {self.paren(denominator, MUL + 1)}"

    def coefficient(self, value) -> str:
        return str(value)

    def is_named_scalar(self, e: Expr) -> bool:
        return e.is_scalar and (e.op == "var" or e in self.labels)

    def scalar_symbol(self, e: Expr):
        """A SymPy symbol that prints as this printer prints ``e``'s name."""
        name = self.labels.get(e) or e.params[0]
        return sympy.Symbol(self.name(name))

    def _print_matmul(self, e: Expr) -> str:
        factors = e.args
        parts, i = [], 0
        while i < len(factors):
            for chain, name, transposed in self.chains_at(factors, i):
                k = len(chain)
                if 1 < k < len(factors) and factors[i:i + k] == chain:
                    parts.append(self.name(name) + (self.transpose_mark if transposed else ""))
                    i += k
                    break
            else:
                f = factors[i]
                # b 𝟏ᵀ and 𝟏 𝟏ᵀ are products themselves: A (b 𝟏ᵀ) is A b 𝟏ᵀ
                flat = f not in self.labels and f.op in ("ones", "broadcast") and (
                    is_all_ones(f) or not f.args[0].is_scalar)
                parts.append(self._print(f) if flat else self.paren(f, MUL + 1))
                i += 1
        return self.mul_sep.join(parts)

    # ------------------------------------------------------------ by notation
    def _print_kind_infix(self, e: Expr, notation) -> str:
        symbol = self.symbol(notation)
        args = self.operands(e) if e.op in ("hadamard", "hdiv") else e.args
        return f" {symbol} ".join(self.paren(a, notation.precedence, strict=True) for a in args)

    def _print_kind_postfix(self, e: Expr, notation) -> str:
        return self.paren(e.args[0], FUNC) + self.symbol(notation)

    def _print_kind_func(self, e: Expr, notation) -> str:
        return f"{self.symbol(notation)}({', '.join(self.printed_args(e))})"

    def function_args(self, e: Expr) -> list:
        # one operand: nothing beside it gives a broadcast its shape, so it is
        # written out (exp(b 𝟏ᵀ) is m×n, exp(b) would read m×1)
        return list(e.args)

    def printed_args(self, e: Expr) -> list[str]:
        """A function's arguments as printed, with its axis when the operand's
        shape does not imply it: softmax(Z, axis=0), but softmax(θ) for a column."""
        out = [self._print(a) for a in self.function_args(e)]
        if e.op in AXIS_FUNCTIONS:
            (axis,) = e.params
            rows, cols = e.args[0].shape
            implied = 0 if cols == ONE else 1 if rows == ONE else None
            if axis != implied or (axis is None and e.op != "logsumexp"):  # softmax(Z) alone is no formula
                out.append(self.keyword("axis", axis))
        return out

    def keyword(self, name: str, value) -> str:
        return f"{name}={value}"

    def _print_kind_custom(self, e: Expr, notation) -> str:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} cannot print {e.op}")

    def symbol(self, notation) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------ leaves
    def name(self, name: str) -> str:
        raise NotImplementedError

    def _print_var(self, e: Expr) -> str:
        return self.name(e.params[0])

    def _print_broadcast(self, e: Expr) -> str:
        """Outside elementwise operations a broadcast is written out: b 𝟏ᵀ."""
        from ..graph import ones
        from ..ops import build as B

        a = e.args[0]
        r, c = e.shape
        if a.is_scalar:
            return self._print(B.smul(a, ones(r, c)))
        if a.shape[1] == 1:
            return self._print_matmul(_Unbuilt("matmul", (a, ones(1, c))))
        return self._print_matmul(_Unbuilt("matmul", (ones(r, 1), a)))

    def _print_const(self, e: Expr) -> str:
        text = written_text(e)
        return self.number(const_value(e)) if text is None else self.written(text)

    def written(self, text: str) -> str:
        """A number as the cell wrote it (1e-5, 0.5)."""
        return text

    def number(self, value) -> str:
        return str(value)

    @staticmethod
    def is_vector(e: Expr) -> bool:
        return (e.shape[0] == ONE) != (e.shape[1] == ONE)


def _applied_by_name(e: Expr) -> bool:
    """``log det(S)``: a function written as words before its argument, which a
    power or a transpose after it would bind to the argument: (log det(S))²."""
    notation = rule(e.op).notation
    return notation.kind == "func" and " " in notation.text


__all__ = ["Printer", "negative_part", "ADD", "MUL", "NEG", "POW", "FUNC", "ATOM"]
