"""A program printed as Python source: a function, or a script for one view.

The function takes the cell's variables in declaration order, accepts a
column vector as (n,) or (n, 1) (a row as (n,) or (1, n), a scalar as a
number), reads the sizes off the arrays, checks every shape with a message in
the cell's terms, computes each node once and returns a dict.
"""

from __future__ import annotations

import textwrap

import sympy

from ..shapes import shape_str
from ..render.names import name_python
from .printer import CodePrinter, number
from .program import Output, Param, Program

INDENT = "    "
LINE = 100  # a return dict longer than this is written one entry per line


def function_source(program: Program, printer: CodePrinter, name: str = "derivatives") -> str:
    """``def name(<parameters>): … return {...}`` with its imports and helpers."""
    body = [f"{n} = {printer.definition(node)}" for n, node in program.steps]
    returns = [f'"{o.key}": {_returned(program, printer, o)}' for o in program.outputs]
    declared = _declared_sizes(program.params)
    sizes = _size_sources(program.params, declared, printer.sizes)
    keyword_sizes = [str(s) for s in declared + sorted(printer.sizes, key=str) if s not in sizes]
    keyword_sizes = list(dict.fromkeys(keyword_sizes))
    signature = ", ".join([p.py for p in program.params] + (["*", *keyword_sizes] if keyword_sizes else []))
    lines = [f"def {name}({signature}):", INDENT + _docstring(program)]
    preamble = _conversions(program, printer) + _size_lines(sizes) + _shape_checks(program, sizes)
    first = program.params[0].py if program.params else None
    for line in preamble + printer.before_body(first) + body:
        lines.append(INDENT + line)
    lines += _return_lines(returns)
    return _module(printer, "\n".join(lines))


def script_source(program: Program, printer: CodePrinter, target: str) -> str:
    """Statements computing the one output of ``program`` into ``target``
    from the cell's variables, given as 2-D arrays under their own names."""
    (output,) = program.outputs
    body = [f"{n} = {printer.definition(node)}" for n, node in program.steps]
    value = _returned(program, printer, output)
    if value != target:
        body.append(f"{target} = {value}")
    inputs = [Param(name, name_python(name), node) for name, node in program.cell.variables.items()]
    sizes = _size_sources(inputs, _declared_sizes(inputs), printer.sizes, only=printer.sizes)
    return _module(printer, "\n".join(_size_lines(sizes) + body))


def _module(printer: CodePrinter, code: str) -> str:
    parts = ["\n".join(printer.header())]
    helpers = printer.helper_source()
    if helpers:
        parts.append("\n\n".join(helpers))
    parts.append(code)
    return "\n\n\n".join(parts) + "\n"


def _returned(program: Program, printer: CodePrinter, o: Output) -> str:
    ref = program.names[o.node]
    if o.dims is not None and tuple(o.dims) != tuple(o.node.shape):
        ref = f"{ref}.reshape{_dims(printer, o.dims)}"
        if o.perm is not None:
            ref = printer.permute(ref, o.perm)
    return f"{ref}[0, 0]" if o.scalar else ref


def _dims(printer: CodePrinter, dims) -> str:
    parts = [printer.size(d) for d in dims]
    if len(parts) <= 1:
        return f"(({parts[0]},))" if parts else "(())"
    return f"({', '.join(parts)})"


def _docstring(program: Program) -> str:
    parts = [f"{o.key} = {o.about}" if o.about and o.about != o.key else o.key for o in program.outputs]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    text = f'"""Returns {listed} ({program.layout} layout)."""'
    return ("\n" + INDENT).join(textwrap.wrap(text, LINE - len(INDENT), break_long_words=False))


def _return_lines(returns: list[str]) -> list[str]:
    one = INDENT + "return {" + ", ".join(returns) + "}"
    if len(one) <= LINE:
        return [one]
    return [INDENT + "return {"] + [INDENT * 2 + r + "," for r in returns] + [INDENT + "}"]


# ====================================================================== the arguments
def _conversions(program: Program, printer: CodePrinter) -> list[str]:
    lines = [f"{p.py} = {printer.convert(p.py)}" for p in program.params]
    for p in program.params:
        if p.form == "column":
            n = number(p.node.shape[0])
            lines.append(f"{p.py} = {p.py}.reshape(-1, 1) if {p.py}.ndim == 1 else {p.py}  # ({n},) or ({n}, 1)")
        elif p.form == "row":
            n = number(p.node.shape[1])
            lines.append(f"{p.py} = {p.py}.reshape(1, -1) if {p.py}.ndim == 1 else {p.py}  # ({n},) or (1, {n})")
        elif p.form == "scalar":
            lines.append(f"{p.py} = {p.py}.reshape(1, 1)")
    return lines


def _size_sources(params: list[Param], declared: list, mentioned, only=None) -> dict:
    """{size symbol: (parameter, axis, Python expression)}, in an order where
    each expression uses only sizes before it: a plain size (m) from the first
    array that has it, else solved from a compound one (k = X.shape[0] - n for
    X : n + k x n).  With ``only``, just those sizes and what they need."""
    wanted = list(dict.fromkeys(declared + sorted(mentioned, key=str)))
    out: dict = {}
    for sym in wanted:
        found = next(((p, axis) for p in params for axis, d in enumerate(p.node.shape) if d == sym), None)
        if found is not None:
            p, axis = found
            out[sym] = (p, axis, f"{p.py}.shape[{axis}]", set())
    pending = [sym for sym in wanted if sym not in out]
    while pending:
        solved = None
        for sym in pending:
            for p in params:
                for axis, d in enumerate(p.node.shape):
                    if sym in d.free_symbols and d.free_symbols - set(out) == {sym}:
                        k = sympy.Dummy("k")
                        roots = sympy.solve(sympy.Eq(d, k), sym)
                        if len(roots) == 1:
                            value = roots[0].subs(k, sympy.Symbol(f"{p.py}.shape[{axis}]"))
                            solved = sym, (p, axis, number(value), d.free_symbols - {sym})
                            break
                if solved:
                    break
            if solved:
                break
        if solved is None:
            break  # the rest are read from no array: keyword arguments
        out[solved[0]] = solved[1]
        pending.remove(solved[0])
    if only is not None:
        keep, todo = set(), [s for s in only if s in out]
        while todo:
            sym = todo.pop()
            if sym not in keep:
                keep.add(sym)
                todo += list(out[sym][3])
        out = {s: v for s, v in out.items() if s in keep}
    return {s: v[:3] for s, v in out.items()}


def _declared_sizes(params: list[Param]) -> list:
    return list(dict.fromkeys(s for p in params for d in p.node.shape for s in sorted(d.free_symbols, key=str)))


def _size_lines(sizes: dict) -> list[str]:
    """``m, n = X.shape`` where one array gives both, else ``n = x.shape[0]``."""
    plain = {(p.py, axis): sym for sym, (p, axis, code) in sizes.items() if code == f"{p.py}.shape[{axis}]"}
    lines, done = [], set()
    for sym, (p, _axis, code) in sizes.items():
        if sym in done:
            continue
        pair = (plain.get((p.py, 0)), plain.get((p.py, 1)))
        if p.form == "matrix" and None not in pair:
            lines.append(f"{number(pair[0])}, {number(pair[1])} = {p.py}.shape")
            done |= set(pair)
        else:
            lines.append(f"{number(sym)} = {code}")
            done.add(sym)
    return lines


def _read_from(p: Param, sizes: dict) -> bool:
    """Whether every axis of ``p`` is a size read off that very axis (its
    shape then holds by construction)."""
    return all(d.is_Symbol and d in sizes and sizes[d][0] is p and sizes[d][2] == f"{p.py}.shape[{axis}]"
               for axis, d in enumerate(p.node.shape))


def _shape_checks(program: Program, sizes: dict) -> list[str]:
    """A ValueError, in the cell's terms, for an array of the wrong shape:
    ``W must be m×n = 3×4 (x is 4×1), got (3, 5)``."""
    lines = []
    for p in program.params:
        if p.form == "scalar" or _read_from(p, sizes):
            continue
        shape = p.node.shape
        want = "(" + ", ".join(number(d) for d in shape) + ")"
        values = "×".join(str(d) if d.is_Integer else "{" + number(d) + "}" for d in shape)
        sources = []
        for d in shape:
            for sym in sorted(d.free_symbols, key=str):
                src = sizes[sym][0] if sym in sizes else None
                if src is not None and src is not p and src not in sources:
                    sources.append(src)
        given = ", ".join(f"{q.py} is {{{q.py}.shape[0]}}×{{{q.py}.shape[1]}}" for q in sources)
        lines.append(f"if {p.py}.shape != {want}:")
        lines.append(INDENT + f'raise ValueError(f"{p.name} must be {shape_str(shape)} = {values}'
                              + (f" ({given})" if given else "") + f', got {{tuple({p.py}.shape)}}")')
    return lines
