"""Names for the parts of a result worth naming, so it stays readable.

A sub-expression used twice or more is printed once under a name instead of
being written out at every use (that is what keeps the result of a residual
network linear in size), and one nested too deep to read is cut off and named
the same way (a 100-layer chain reads as δ's, as back-propagation notes write
it).  Names the user gave (``z = W x + b``) are kept as they are.

The graph decides first; then the printed text has the last word, since two
different nodes can print alike (``𝟏ᵀ X`` and ``sum(X, axis=0)``) and a
printer may write a named node out (a sign pulled in front of a sum):

* a part printed twice (long enough that naming it saves characters) gets one
  name, used at both places;
* a name the printed result does not use is dropped, and a name for a shared
  part that ends up used once is written out again (unless it is there to cut
  a deep nesting);
* names are numbered in the order of their definitions, each definition using
  only names defined before it.
"""

from __future__ import annotations

import re
from collections import Counter

from ..graph import Expr, postorder

MAX_DEPTH = 10  # nesting levels printed before a part gets a name of its own
MIN_SIZE = 7  # smaller shared parts are cheaper to repeat than to name
#: a part printed twice is named when its text is at least this long: then
#: "δ₁ … δ₁, where δ₁ = part" is shorter than the part written twice
MIN_REPEAT_CHARS = 18
MAX_ROUNDS = 6
_ATOMIC = frozenset({"var", "tangent", "const", "eye", "ones", "zeros", "commutation", "broadcast"})


def view_names(root: Expr, labels: dict, taken: set[str]) -> tuple[dict, list]:
    """({node: name} for printing ``root``, [(name, node)] of the parts
    defined under "where", in definition order).  ``labels`` are the user's
    names; every name in the second list is used by the printed result."""
    prefix = "δ" if not any(t.startswith("δ") for t in taken) else "g"
    aux, deep = auxiliary_names(root, labels, prefix)
    dropped: set = set()  # never named again, so that the rounds settle
    # deep: names kept although used once (a cut nesting, a step's δ)
    for _ in range(MAX_ROUNDS):
        printed = _Printed(root, labels, aux)
        changed = (printed.drop_unused(aux, deep, dropped) | printed.name_repeats(aux, prefix, dropped)
                   or printed.name_parallel_terms(aux, prefix, dropped, deep))
        if not changed:
            break
    return _in_definition_order(root, labels, aux, prefix)


def auxiliary_names(root: Expr, labels: dict, prefix: str = "δ") -> tuple[dict, set]:
    """({node: name}, nodes named for depth) for the shared or deeply nested
    parts of ``root``, judged on the graph."""
    order = postorder(root)
    uses: Counter = Counter()
    for node in order:
        for a in node.args:
            uses[a] += 1
    names: dict[Expr, str] = {}
    deep: set = set()
    depth: dict[Expr, int] = {}
    size: dict[Expr, int] = {}
    for node in order:
        if node in labels or not node.args:
            depth[node], size[node] = 0, 1
            continue
        d = 1 + max(depth[a] for a in node.args)
        s = 1 + sum(size[a] for a in node.args)
        worth = node is not root and node.op not in _ATOMIC and not node.is_scalar or (
            node is not root and node.op not in _ATOMIC and s >= MIN_SIZE)
        if worth and ((uses[node] >= 2 and s >= MIN_SIZE) or d > MAX_DEPTH):
            names[node] = f"{prefix}_{len(names) + 1}"
            if d > MAX_DEPTH:
                deep.add(node)
            depth[node], size[node] = 0, 1
        else:
            depth[node], size[node] = d, s
    return names, deep


class _Printed:
    """The result and its where-parts as printed with the current names:
    what each printed node looked like, and how often each name is used."""

    def __init__(self, root: Expr, labels: dict, aux: dict):
        from .text import TextPrinter

        class Recording(TextPrinter):
            def _print(inner, e: Expr) -> str:
                text = TextPrinter._print(inner, e)
                seen.append((e, text))
                return text

            def name(inner, name: str) -> str:
                if name in aux_names:
                    uses[name] += 1
                return TextPrinter.name(inner, name)

        self.root, self.labels, self.aux = root, labels, aux
        aux_names = set(aux.values())
        names = {**labels, **aux}
        uses: Counter = Counter()
        seen: list = []
        printer = Recording(names)
        bodies = {None: printer.doprint(root)}
        self.definitions = {}
        for node, name in aux.items():
            if name not in self.definitions:  # one definition per name
                self.definitions[name] = node
                bodies[name] = printer.doprint(node, expand_root=True)
        self.seen, self.uses, self.bodies = seen, uses, bodies

    def drop_unused(self, aux: dict, deep: set, dropped: set) -> bool:
        """Drop names nothing uses, and shared ones used once."""
        used = self._reachable_uses()
        drop = {node for node, name in aux.items()
                if used[name] == 0 or (used[name] == 1 and node not in deep)}
        for node in drop:
            del aux[node]
        dropped |= drop
        return bool(drop)

    def _reachable_uses(self) -> Counter:
        """Uses of each name in the result and in the definitions it needs."""
        pattern = {name: _name_pattern(name) for name in self.definitions}
        counts = Counter()
        pending, done = [None], set()
        while pending:
            body = self.bodies[pending.pop()]
            for name, pat in pattern.items():
                k = len(pat.findall(body))
                if k:
                    counts[name] += k
                    if name not in done:
                        done.add(name)
                        pending.append(name)
        return counts

    def name_repeats(self, aux: dict, prefix: str, dropped: set) -> bool:
        """Name the longest part printed twice; nodes printed alike share a name."""
        texts: dict[tuple, list] = {}
        for node, text in self.seen:
            if node.op in _ATOMIC or len(text) < MIN_REPEAT_CHARS:
                continue
            texts.setdefault((text, node.shape), []).append(node)
        everything = "\n".join(self.bodies.values())
        # printed twice: by two nodes, or by one and inside a longer sum
        repeated = [(key, nodes) for key, nodes in texts.items()
                    if everything.count(key[0]) >= 2 and not all(n in dropped for n in nodes)]
        changed = False
        chosen: list[str] = []
        # longest first; a part inside one named in this round waits for the next round
        for (text, _shape), nodes in sorted(repeated, key=lambda kv: -len(kv[0][0])):
            if any(text in longer for longer in chosen):
                continue
            chosen.append(text)
            existing = next((aux[n] for n in nodes if n in aux), None)
            if existing is None:
                existing = next((self.labels[n] for n in nodes if n in self.labels), None)
            name = existing or _fresh(aux, prefix)
            for n in dict.fromkeys(nodes):
                if n not in aux and n not in self.labels and n not in dropped:
                    aux[n] = name
                    changed = True
        return changed


    def name_parallel_terms(self, aux: dict, prefix: str, dropped: set, once: set) -> bool:
        """In a sum with a named term, name the terms of the same kind too:
        back-propagation through time reads δ₁ + δ₂ (one δ per step), and
        δ₂ h₀ᵀ + δ₁ h₁ᵀ, rather than one step named and the other written out."""
        printed = {id(n) for n, _text in self.seen}
        texts = {id(n): text for n, text in self.seen}
        changed = False
        for node in postorder(self.root):
            if node.op != "add" or id(node) not in printed:
                continue
            steps = [(where, p) for t in node.args for where, p in _step_parts(t)]
            named_ops = {(where, p.op, p.shape) for where, p in steps if p in aux}
            for where, p in steps:
                if (p in aux or p in self.labels or p in dropped or (where, p.op, p.shape) not in named_ops
                        or p.op in _ATOMIC or len(texts.get(id(p), "")) < MIN_REPEAT_CHARS):
                    continue
                aux[p] = _fresh(aux, prefix)
                once.add(p)  # named for the reader, used once on purpose
                changed = True
        return changed


def _step_parts(term: Expr) -> list[tuple[str, Expr]]:
    """[(where, part)] of a term that may carry a step's δ: the term, or an
    end factor of a product (δ h₀ᵀ, and h₀ δᵀ in numerator layout), each
    untransposed (the printer writes a name's transpose as δᵀ)."""
    if term.op == "smul":
        term = term.args[1]
    parts = [("first", term.args[0]), ("last", term.args[-1])] if term.op == "matmul" else [("whole", term)]
    return [(where, p.args[0] if p.op == "transpose" else p) for where, p in parts]


def _name_pattern(name: str) -> re.Pattern:
    from .names import name_text

    return re.compile(r"(?<!\w)" + re.escape(name_text(name)) + r"(?![0-9₀-₉])")


def _fresh(aux: dict, prefix: str) -> str:
    numbers = [int(n.rsplit("_", 1)[1]) for n in aux.values() if n.startswith(prefix + "_")]
    return f"{prefix}_{max(numbers, default=0) + 1}"  # renumbered at the end


def _in_definition_order(root: Expr, labels: dict, aux: dict, prefix: str) -> tuple[dict, list]:
    """Number the names δ₁, δ₂, … so that each definition uses only earlier
    ones (the graph's children-first order, then what the printer uses)."""
    if not aux:
        return dict(labels), []
    definitions: dict[str, Expr] = {}
    for node, name in aux.items():
        definitions.setdefault(name, node)
    rank = {node: k for k, node in enumerate(postorder(root))}
    printed = _Printed(root, labels, aux)
    patterns = {name: _name_pattern(name) for name in definitions}
    needs = {name: {other for other, pat in patterns.items()
                    if other != name and pat.search(printed.bodies[name])}
             for name in definitions}
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        placed.add(name)
        for dep in sorted(needs[name] - placed, key=lambda n: rank.get(definitions[n], 0)):
            place(dep)
        order.append(name)

    for name in sorted(definitions, key=lambda n: rank.get(definitions[n], 0)):
        if name not in placed:
            place(name)
    renamed = {old: f"{prefix}_{k}" for k, old in enumerate(order, 1)}
    names = {**labels, **{node: renamed[name] for node, name in aux.items()}}
    return names, [(renamed[name], definitions[name]) for name in order]
