"""NumPy code: a self-contained snippet that computes a result from the inputs.

Named intermediate results (``z = W x + b``) become assignments, in order,
so the generated code reads like the forward pass followed by the gradient.
Everything is a 2-D array, as in the engine: a column vector is ``(n, 1)``.
"""

from __future__ import annotations

import re
import unicodedata

import sympy

from .. import layouts as L
from ..graph import Expr, const_value, is_const, postorder
from ..ops.registry import ADD, ATOM, FUNC, MUL, NEG, POW
from .base import AXIS_FUNCTIONS, Printer, negative_part
from .names import name_python

HELPERS = {
    "sigmoid": "def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * x))",
    "logsumexp": (
        "def logsumexp(x, axis=None):\n"
        "    m = np.max(x, axis=axis, keepdims=True)\n"
        "    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))"
    ),
    "softmax": "def softmax(x, axis=None):\n    return np.exp(x - logsumexp(x, axis))",
    "log_softmax": "def log_softmax(x, axis=None):\n    return x - logsumexp(x, axis)",
    "commutation": (
        "def commutation(m, n):\n"
        "    k = np.zeros((m * n, m * n))\n"
        "    for i in range(m):\n"
        "        for j in range(n):\n"
        "            k[j + i * n, i + j * m] = 1.0\n"
        "    return k"
    ),
}
_NEEDS = {"softmax": ("logsumexp", "softmax"), "logsoftmax": ("logsumexp", "log_softmax"),
          "logsumexp": ("logsumexp",), "sigmoid": ("sigmoid",), "commutation": ("commutation",)}
_FUNCS = {
    "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos",
    "tanh": "np.tanh", "sigmoid": "sigmoid", "abs": "np.abs", "sign": "np.sign",
    "trace": "np.trace", "det": "np.linalg.det", "inv": "np.linalg.inv", "kron": "np.kron",
}
_ELEMENTWISE_PARENTS = {"add", "hadamard", "hdiv"}


def _float(value) -> str:
    """A number that makes NumPy arrays of floats: 3.0, not 3."""
    text = _py(value)
    return text + ".0" if sympy.sympify(value).is_Integer else text


def _py(value) -> str:
    value = sympy.sympify(value)
    if value.is_Integer:
        return str(int(value))
    if value.is_Rational:
        return f"{value.p} / {value.q}"
    return sympy.pycode(value).replace("math.", "np.")


class NumpyPrinter(Printer):
    transpose_mark = ".T"
    add_sep = " + "
    sub_sep = " - "

    def __init__(self, labels=None):
        super().__init__(labels)
        self.helpers: set[str] = set()
        self.used: set[str] = set()  # the names printed, to order definitions by

    def name(self, name: str) -> str:
        self.used.add(name)
        return name_python(name)

    def doprint(self, e: Expr, expand_root: bool = False) -> str:
        """A whole expression (a result, a definition, an einsum operand) prints
        as an array, even when it is a constant."""
        self._exempt = e if expand_root else None
        return self.array(e)

    def array(self, e: Expr) -> str:
        """``e`` as a 2-D array.  A constant alone prints as a Python number
        (3, 1 / n): fine inside arithmetic, but it has no shape to pad or to
        give back as a 1×1 result."""
        if e.op == "const" and e not in self.labels:  # constants are 1×1
            return f"np.array([[{_float(const_value(e))}]])"
        return self._print(e)

    def symbol(self, notation) -> str:
        return notation.numpy

    def precedence(self, e: Expr) -> int:
        if e is not self._exempt and self._named(e) is not None:
            return ATOM if not self._named(e)[1] else FUNC + 5
        if e.op == "smul":
            return NEG if negative_part(e) is not None else MUL
        if e.op == "const":
            v = const_value(e)
            if v.is_Number and v < 0:
                return NEG
            return ATOM if (v.is_Integer or v.is_Symbol) else MUL
        if e.op in ("var", "tangent", "eye", "ones", "zeros", "commutation"):
            return ATOM
        if e.op in ("transpose", "rows", "cols"):
            return FUNC + 5  # attribute access and subscripts bind tightest
        if e.op in ("epow",):
            return POW
        if e.op in ("matmul", "hadamard", "hdiv"):
            return MUL
        if e.op == "add":
            return ADD
        return FUNC

    def paren(self, e: Expr, level: int, strict: bool = False) -> str:
        text = self._print(e)
        p = self.precedence(e)
        if p < level or (strict and p == level):
            return f"({text})"
        return text

    def _child(self, e: Expr, parent: str) -> Expr:
        # NumPy broadcasts inside elementwise operations by itself.
        if parent in _ELEMENTWISE_PARENTS and e.op == "broadcast" and e not in self.labels:
            return e.args[0]
        return e

    # ------------------------------------------------------------ structure
    def operands(self, e: Expr) -> list:
        return [self._child(a, e.op) for a in e.args]

    def coefficient(self, value) -> str:
        text = _py(value)
        return text if value.is_Integer or value.is_Symbol else f"({text})"

    def _print_smul(self, e: Expr) -> str:
        s, a = e.args
        n = negative_part(e)
        if n is not None:
            return "-" + (self._print_smul(n) if n.op == "smul" else self.paren(n, MUL + 1))
        left = self.coefficient(const_value(s)) if is_const(s) else self.paren(s, MUL + 1)
        return f"{left} * {self.paren(a, MUL + 1)}"

    mul_sep = " @ "

    def _print_hadamard(self, e: Expr) -> str:
        return " * ".join(self.paren(self._child(f, "hadamard"), MUL + 1) for f in e.args)

    def _print_hdiv(self, e: Expr) -> str:
        a, b = (self._child(x, "hdiv") for x in e.args)
        return f"{self.paren(a, MUL)} / {self.paren(b, MUL + 1)}"

    def _print_transpose(self, e: Expr) -> str:
        untransposed = self.untransposed_name(e.args[0])
        if untransposed is not None:
            return untransposed
        return self.paren(e.args[0], FUNC + 5) + ".T"

    def _print_epow(self, e: Expr) -> str:
        a, p = e.args
        return f"{self.paren(a, POW + 1)} ** {self.paren(p, POW + 1)}"

    def _print_broadcast(self, e: Expr) -> str:
        r, c = e.shape
        return f"np.broadcast_to({self._print(e.args[0])}, ({_py(r)}, {_py(c)}))"

    def _print_sum(self, e: Expr) -> str:
        (axis,) = e.params
        a = self.paren(e.args[0], FUNC + 5)
        if axis is None:
            return f"np.sum({self._print(e.args[0])})"
        return f"{a}.sum(axis={axis}, keepdims=True)"

    def _print_const(self, e: Expr) -> str:
        return _py(const_value(e))

    def _print_var(self, e: Expr) -> str:
        return self.name(e.params[0])

    def _print_tangent(self, e: Expr) -> str:
        return self.name(e.params[0])

    def _print_eye(self, e: Expr) -> str:
        return f"np.eye({_py(e.shape[0])})"

    def _print_ones(self, e: Expr) -> str:
        return f"np.ones(({_py(e.shape[0])}, {_py(e.shape[1])}))"

    def _print_zeros(self, e: Expr) -> str:
        return f"np.zeros(({_py(e.shape[0])}, {_py(e.shape[1])}))"

    def _print_commutation(self, e: Expr) -> str:
        self.helpers.add("commutation")
        m, n = e.params
        return f"commutation({_py(m)}, {_py(n)})"

    def _print_kind_func(self, e: Expr, notation) -> str:
        for h in _NEEDS.get(e.op, ()):
            self.helpers.add(h)
        name = _FUNCS.get(e.op, notation.numpy)
        args = ", ".join(self._print(a) for a in e.args)
        if e.op in ("trace", "det"):
            return f"np.array([[{name}({args})]])"
        if e.op in AXIS_FUNCTIONS:  # code always says the axis, implied or not
            return f"{name}({args}, axis={e.params[0]})"
        return f"{name}({args})"

    def _print_inv(self, e: Expr) -> str:
        return f"np.linalg.inv({self._print(e.args[0])})"

    def _print_kron(self, e: Expr) -> str:
        return f"np.kron({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_matpow(self, e: Expr) -> str:
        return f"np.linalg.matrix_power({self._print(e.args[0])}, {e.params[0]})"

    def _print_logdet(self, e: Expr) -> str:
        return f"np.array([[np.linalg.slogdet({self._print(e.args[0])})[1]]])"

    def _print_relu(self, e: Expr) -> str:
        return f"np.maximum({self._print(e.args[0])}, 0.0)"

    def _print_drelu(self, e: Expr) -> str:
        return f"np.heaviside({self._print(e.args[0])}, 0.0)"

    def _print_softplus(self, e: Expr) -> str:
        return f"np.logaddexp(0.0, {self._print(e.args[0])})"

    def _print_diag(self, e: Expr) -> str:
        return f"np.diag({self.paren(e.args[0], FUNC + 5)}.ravel())"

    def _print_diagvec(self, e: Expr) -> str:
        return f"np.diag({self._print(e.args[0])}).reshape(-1, 1)"

    def _print_vec(self, e: Expr) -> str:
        return f"{self.paren(e.args[0], FUNC + 5)}.reshape(-1, 1, order='F')"

    def _print_unvec(self, e: Expr) -> str:
        r, c = e.shape
        return f"{self.paren(e.args[0], FUNC + 5)}.reshape(({_py(r)}, {_py(c)}), order='F')"

    def _print_rows(self, e: Expr) -> str:
        start, stop = e.params
        return f"{self.paren(e.args[0], FUNC + 5)}[{_py(start)}:{_py(stop)}, :]"

    def _print_cols(self, e: Expr) -> str:
        start, stop = e.params
        return f"{self.paren(e.args[0], FUNC + 5)}[:, {_py(start)}:{_py(stop)}]"

    def _print_pad_rows(self, e: Expr) -> str:
        before, total = e.params
        after = sympy.expand(total - before - e.args[0].shape[0])
        return f"np.pad({self.array(e.args[0])}, (({_py(before)}, {_py(after)}), (0, 0)))"

    def _print_pad_cols(self, e: Expr) -> str:
        before, total = e.params
        after = sympy.expand(total - before - e.args[0].shape[1])
        return f"np.pad({self.array(e.args[0])}, ((0, 0), ({_py(before)}, {_py(after)})))"

    def _print_concat(self, e: Expr) -> str:
        fn = "np.vstack" if e.params[0] == 0 else "np.hstack"
        return f"{fn}([{', '.join(self._print(a) for a in e.args)}])"


def view_code(view) -> str:
    """``View.numpy_code``: the view's matrix formula; for a tensor its index
    form by ``np.einsum``, or else (no index form, e.g. a slice of a
    differential) its vec matrix reshaped to the tensor's axes."""
    result = view.result
    d, cell = result.derivative, result.cell
    target = result_name(result.request, cell)
    if view.expr is not None:
        return numpy_code(view.expr, view.names, cell, target)
    order = None  # a denominator tensor has the variable's axes first
    if d.kind == "tensor" and view.layout == "denominator":
        n_out, n_var = len(L.index_dims(d.of.shape)), len(L.index_dims(d.wrt.shape))
        order = tuple(range(n_out, n_out + n_var)) + tuple(range(n_out))
    if view.index_form is not None:
        return index_code(view.index_form, cell, target, order)
    axes = L.axes(d, "index")

    def body(printer: NumpyPrinter) -> str:
        return _transposed(f"np.reshape({printer.doprint(d.matrix)}, {_shape(axes)}, order='F')", order)

    return numpy_program(cell, result.labels, [d.matrix], body, target, _symbols(*axes))


def numpy_code(expr: Expr, labels: dict, cell, target: str = "result") -> str:
    """Self-contained NumPy code assigning the value of ``expr`` to ``target``."""
    return numpy_program(cell, labels, [expr], lambda printer: printer.doprint(expr), target)


def index_code(form, cell, target: str, order: tuple[int, ...] | None = None) -> str:
    """Code computing an index form with ``np.einsum``, term by term as
    ``IndexForm.einsum_terms`` spells it (axes ``free``, or moved to ``order``)."""
    from ..calculus.index import axes_of

    def operand(printer: NumpyPrinter, op) -> str:
        if isinstance(op, str):  # a free index the term is constant along
            return f"np.ones({_py(form.sizes_of[op])})"
        if op.is_delta:
            return f"np.eye({_py(form.sizes_of[op.indices[0]])})"
        code = printer.doprint(op.expr)  # 2-D; einsum wants just the indexed axes
        code = code if code.isidentifier() else f"({code})"
        code = {(0,): f"{code}[:, 0]", (1,): f"{code}[0, :]", (0, 1): code}.get(
            tuple(axes_of(op.expr)), f"{code}.item()")
        return code if op.power == 1 else f"np.power({code}, {_py(op.power)})"

    def body(printer: NumpyPrinter) -> str:
        value = ""
        for coef, subscripts, operands in form.einsum_terms():
            coef = sympy.sympify(coef)
            if not operands:  # a constant with no axes
                value += f" + np.array({_float(coef)})"
                continue
            sign, coef = (" - ", -coef) if coef.could_extract_minus_sign() else (" + ", coef)
            args = [f"'{subscripts}'", *(operand(printer, op) for op in operands)]
            if len(operands) > 2:  # else einsum loops over all the indices at once: n^k steps
                args.append("optimize=True")
            call = f"np.einsum({', '.join(args)})"
            value += sign + (call if coef == 1 else f"{printer.coefficient(coef)} * {call}")
        value = ("-" if value.startswith(" - ") else "") + value[3:]  # the first term's sign
        return _transposed(value or f"np.zeros({_shape(form.sizes_of[i] for i in form.free)})", order)

    exprs = [f.expr for t in form.terms for f in t.factors if f.expr is not None]
    sizes = _symbols(*(form.sizes_of[i] for i in form.free),
                     *(form.sizes_of[f.indices[0]] for t in form.terms for f in t.factors if f.is_delta),
                     *(t.coef for t in form.terms))
    return numpy_program(cell, form.labels, exprs, body, target, sizes)


def _shape(dims) -> str:
    dims = [_py(d) for d in dims]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def _symbols(*values) -> set:
    return {s for v in values for s in sympy.sympify(v).free_symbols}


def _transposed(value: str, order) -> str:
    if order is None or list(order) == list(range(len(order))):
        return value
    return f"np.transpose({value}, {tuple(order)})"


def result_name(request, cell) -> str:
    """The variable a result's code assigns: ``dJ_dW``, ``d2f_dx2`` for a
    Hessian, in the user's own letters (``dJ_dθ``).  Unique in the cell, as
    ``--code`` runs the code of all its results one after another: a request
    whose name is taken (by a variable or an earlier request) gets ``_2``."""

    def base(req) -> str:
        of, wrt = _identifier(req.of_text), _identifier(req.wrt_name)
        return f"d2{of}_d{wrt}2" if req.order == 2 else f"d{of}_d{wrt}"

    if cell is None:
        return base(request)
    taken = {_identifier(n) for n in (*cell.variables, *cell.definitions)}
    for req in cell.requests:  # in the cell's order, so each view of a result agrees
        name, k = base(req), 1
        while name in taken:
            k += 1
            name = f"{base(req)}_{k}"
        taken.add(name)
        if req is request:
            return name
    return base(request)  # the request of a claim, not one of the cell's


def _identifier(text: str) -> str:
    """``x^T A x`` → ``x_T_A_x``: the characters a Python name may have (θ,
    μ too), anything else as one ``_``.  In NFKC form, as Python reads names
    (x² is x2), so that two names compare equal when Python thinks so."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if ("_" + ch).isidentifier() else "_" for ch in text)
    return re.sub("_+", "_", text).strip("_")


def numpy_program(cell, labels: dict, exprs: list, body, target: str, extra_sizes=()) -> str:
    """A program: imports, helpers, sizes read off the inputs, the cell's
    forward pass, named parts of the result, then ``target = body(printer)``."""
    printer = NumpyPrinter(labels)
    definitions = dict(cell.definitions) if cell is not None else {}
    roots = [e for e in exprs if e is not None]
    parts = [(name, node) for node in (postorder(*roots) if roots else [])
             if (name := labels.get(node)) is not None and name not in definitions
             and node not in roots and node.op != "var"]
    lines = [f"{name_python(name)} = {code}"
             for name, code in _in_dependency_order(printer, [*definitions.items(), *parts])]
    lines.append(f"{target} = {body(printer)}")
    wanted = set(extra_sizes)
    for node in postorder(*(roots + list(definitions.values()))) if roots or definitions else []:
        wanted |= _sizes_mentioned(node)
    sizes = _size_lines(wanted, cell)
    order = ["logsumexp", "softmax", "log_softmax", "sigmoid", "commutation"]
    helpers = [HELPERS[h] for h in order if h in printer.helpers]
    header = ["import numpy as np"] + ([""] + ["\n\n".join(helpers)] + [""] if helpers else [])
    return "\n".join(header + sizes + lines) + "\n"


def _in_dependency_order(printer: NumpyPrinter, named: list) -> list[tuple[str, str]]:
    """[(name, code)] of the named parts, each after the names its code uses.
    The parts come children first, but that is not enough: a name also stands
    for its transpose, so with δ₂ = (B + 5 I)⁻ᵀ a part holding (B + 5 I)⁻¹
    prints δ₂.T although δ₂'s node is not inside it."""
    code, uses = {}, {}
    for name, node in named:
        printer.used = set()
        code[name] = printer.doprint(node, expand_root=True)
        uses[name] = printer.used
    position = {name: k for k, name in enumerate(code)}
    out: list = []
    placed: set = set()

    def place(name: str) -> None:
        placed.add(name)  # already here, so that a cycle (none is known) cannot recurse forever
        for dep in sorted(uses[name] & position.keys() - placed, key=position.get):
            place(dep)
        out.append((name, code[name]))

    for name in code:
        if name not in placed:
            place(name)
    return out


def _sizes_mentioned(node: Expr) -> set:
    out = set()
    if node.op == "const":
        out |= set(sympy.sympify(node.params[0]).free_symbols)
    if node.op in ("eye", "ones", "zeros", "broadcast", "rows", "cols", "pad_rows", "pad_cols",
                   "unvec", "commutation"):
        for d in tuple(node.shape) + tuple(p for p in node.params if isinstance(p, sympy.Expr)):
            out |= set(sympy.sympify(d).free_symbols)
    return out


def _size_lines(wanted: set, cell) -> list[str]:
    """``m = X.shape[1]`` (or ``n = θ.shape[0] - 1``) for each size the code uses."""
    lines = []
    variables = list(cell.variables.items()) if cell is not None else []
    for sym in sorted(wanted, key=str):
        found = None
        for name, var in variables:  # a plain size first
            for axis, d in enumerate(var.shape):
                if d == sym:
                    found = f"{name_python(name)}.shape[{axis}]"
                    break
            if found:
                break
        if found is None:  # then one it can be solved from, like n + 1
            for name, var in variables:
                for axis, d in enumerate(var.shape):
                    if sym in d.free_symbols and len(d.free_symbols) == 1:
                        k = sympy.Symbol("_k")
                        solved = sympy.solve(sympy.Eq(d, k), sym)
                        if len(solved) == 1:
                            found = _py(solved[0]).replace("_k", f"{name_python(name)}.shape[{axis}]")
                            break
                if found:
                    break
        if found is not None:
            lines.append(f"{name_python(str(sym))} = {found}")
    return lines


def to_numpy(e: Expr, labels: dict | None = None) -> str:
    return NumpyPrinter(labels).doprint(e)
