"""Realistic cells, and the ways a hurried user mangles them: for fuzzing.

``mutate(cell, rng)`` applies a few random edits to a cell of the test corpus:
characters typed wrong, operators swapped, numbers replaced by absurd ones
(``9 ** 9 ** 9``, ``1e999999999``, ``1/0``), calls wrapped around names, powers
and transposes added, lines duplicated or dropped, requests and claims added,
and snippets known to have broken the engine before (a lone surrogate in a
comment, ``I_₂``, a size of thousands of terms, deep brackets).  Everything is
drawn from a ``random.Random``, so a failing cell is reproduced by its seed.
"""

from __future__ import annotations

import random
import re

from cells import CS224N_CLAIMED

#: cells users write (and the test corpus's, added by ``seeds()``)
HANDWRITTEN = [
    CS224N_CLAIMED,
    "x : n\nW : m x n\nb : m\nz = W x + b\nJ = sum(relu(z))\n∂J/∂W, ∂J/∂b",
    "x : n; A : n x n; ∂(x^T A x)/∂x",
    "X : n x n, spd; ∂(logdet(X))/∂X",
    "θ : n + 1; X : m x n; y : m\nJ = (1/(2 m)) ‖np.hstack([np.ones((m, 1)), X]) θ - y‖²\n∂J/∂θ",
    "Θ : k x m; Y : k x m, onehot\nJ = CE(Y, softmax(Θ, axis=0))\n∂J/∂Θ",
    "X : n x m\nW1 : h x n\nb1 : h\nW2 : 1 x h\nb2 : 1\nY : 1 x m\nZ1 = W1 X + b1\nA1 = tanh(Z1)\n"
    "Z2 = W2 A1 + b2\nA2 = σ(Z2)\nJ = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2))\n∂J/∂W1, ∂J/∂b2\n"
    "claim ∂J/∂b2 = (1/m) sum(A2 - Y)",
    "A : n x n\nX : n x n, invertible\nJ = tr(A X^{-1})\n∂J/∂X, hessian(tr(X^2), X)",
    "x : n\nS : n x n, spd\nμ : n\nJ = (x - μ)^T S^{-1} (x - μ)\n∂J/∂μ, ∂²J/∂μ²",
    "q : n, positive\nf = log(sum(log(q)))\n∂f/∂q",
    "x : n\np : n, positive\nf = norm(x ⊘ p)\n∂f/∂x",
    "X : m x n\nw : n\ny : m\np = σ(X w)\nJ = -sum(y ⊙ log(p) + (1 - y) ⊙ log(1 - p))\nhessian(J, w)",
    "K : n x n, spd\ny : n\nL = -(1/2) y^T K^{-1} y - (1/2) logdet(K)\n∂L/∂K",
    "W : m x n\nx : n\nF = W ⊗ x\n∂F/∂W",
]

#: numbers that are absurd, out of range or undefined
NASTY_NUMBERS = [
    "9 ** 9 ** 9", "1e999999999", "1e-999999999", "(1/0)", "0", "0.0", "10 ** 400", "2 ** 2 ** 2 ** 2 ** 2 ** 2",
    "1" * 320, "1e308", "1e-308", "(2 ** 1000) ** 1000", "(-1) ** 0.5", "0 ** -1", "1e5", "3.25e-7",
    "123456789012345678901234567890", "(1/3)", "-0", "2 ** -2000",
]

#: snippets that broke the engine before, as whole lines
NASTY_LINES = [
    "# a comment with a lone surrogate \ud800 in it",
    "z9 = x^T I_₂ x",
    "z9 = I_" + "7" * 5000,
    "v9 : " + " + ".join(["n"] * 3000),
    "z9 = " + "(" * 400 + "x" + ")" * 400,
    "z9 = " + " + ".join(["x"] * 2000),
    "z9 = x ** (1/0)",
    "z9 = x / 0",
    "z9 = log(0) x",
    "z9 = (9 ** 9 ** 9) * sum(x)",
    "z9 = 1e999999999 x",
    "hessian(tr(A^{-100}), A)",
    "z9 = x - x",
    "∂J/∂z9",
    "z9 = tr(diag(x)) W",
    "x9 : ｘ",
    "ℓ : n",
    "claim ∂J/∂x = 0",
    "claim ∂J/∂x = x^T",
    "∂J/∂J",
    "∂x/∂x, ∂²x/∂x², hessian(x, x)",
    "W9 : n x n\nz9 = W9^100 W9^100 W9",
    "z9 = np.linalg.matrix_power(A, 101)",
    "\t\t  \n\n;;;",
    "x, x : n",
]

OPERATORS = [" + ", " - ", " ⊙ ", " ⊘ ", " @ ", " * ", " / ", " ** ", " ^ ", " ⊗ ", " "]
FUNCTIONS = ["exp", "log", "sqrt", "tanh", "σ", "relu", "softmax", "sum", "tr", "det", "logdet", "inv", "diag",
             "norm", "abs", "vec", "mean", "logsumexp", "np.linalg.inv", "softplus", "sin"]
SUFFIXES = ["^T", "ᵀ", "'", "^{-1}", "⁻¹", "^{-T}", "^2", "^{-3}", "^100", "^{-101}", " ** 2", "²", "[1:]",
            "[0]", "[:, 1:]", ".T", "^0", "^∘2"]
ALPHABET = "abcxyzWAXnmk0123456789 +-*/@^()[]{}|‖,;:=.'\n∂²ᵀ⊙⊘⊗∘σθŷ_#⁻¹ℝ∈×√πΣ∞é\u0302\u200b\ufeff"
REQUESTS = ["∂J/∂x", "∂J/∂W", "hessian(J, x)", "∂²J/∂x²", "∂J/∂b", "∂(x^T x)/∂x", "dJ/dW", "∂z/∂x",
            "claim ∂J/∂x = x", "claim ∂J/∂W = 2 W"]

_NUMBER = re.compile(r"(?<![\w.])[0-9]+(?:\.[0-9]*)?(?:e-?[0-9]+)?(?![\w.])")
_NAME = re.compile(r"(?<![\w.])[A-Za-zθΘμσŷ][\w]*")
_OPERATOR = re.compile(r" [-+⊙⊘@*/^⊗] | \*\* ")


def seeds() -> list[str]:
    """Every distinct cell of the test corpus, then the handwritten ones."""
    from corpus import cookbook, cs224n, ng, seeds as seed_cells, wikipedia

    cells = [e.cell for mod in (wikipedia, cookbook, cs224n, ng, seed_cells) for e in mod.ENTRIES]
    return list(dict.fromkeys(cells + HANDWRITTEN))


def _pick_match(pattern: re.Pattern, text: str, rng: random.Random):
    found = list(pattern.finditer(text))
    return rng.choice(found) if found else None


def _edit_char(text, rng):
    i = rng.randrange(len(text) + 1)
    how = rng.choice(("delete", "insert", "replace"))
    ch = rng.choice(ALPHABET)
    if how == "delete":
        return text[:i] + text[i + 1:]
    if how == "insert":
        return text[:i] + ch + text[i:]
    return text[:i] + ch + text[i + 1:]


def _swap_operator(text, rng):
    m = _pick_match(_OPERATOR, text, rng)
    return text if m is None else text[:m.start()] + rng.choice(OPERATORS) + text[m.end():]


def _replace_number(text, rng):
    m = _pick_match(_NUMBER, text, rng)
    nasty = rng.choice(NASTY_NUMBERS)
    if m is None:
        return text + f"\nz8 = {nasty} x"
    return text[:m.start()] + nasty + text[m.end():]


def _wrap_call(text, rng):
    m = _pick_match(_NAME, text, rng)
    if m is None:
        return text
    return text[:m.start()] + f"{rng.choice(FUNCTIONS)}({m.group(0)})" + text[m.end():]


def _add_suffix(text, rng):
    m = _pick_match(_NAME, text, rng)
    if m is None:
        return text
    return text[:m.end()] + rng.choice(SUFFIXES) + text[m.end():]


def _swap_names(text, rng):
    names = list(dict.fromkeys(m.group(0) for m in _NAME.finditer(text)))
    m = _pick_match(_NAME, text, rng)
    if m is None or len(names) < 2:
        return text
    return text[:m.start()] + rng.choice(names) + text[m.end():]


def _lines(text, rng):
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    how = rng.choice(("duplicate", "delete", "swap"))
    if how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "delete" and len(lines) > 1:
        lines.pop(i)
    else:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _add_request(text, rng):
    return text + "\n" + rng.choice(REQUESTS)


def _nasty_line(text, rng):
    lines = text.split("\n")
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(NASTY_LINES))
    return "\n".join(lines)


def _repeat(text, rng):
    """Many copies of a line: long cells (hundreds of requests or definitions)."""
    lines = [l for l in text.split("\n") if l.strip()]
    if not lines:
        return text
    line = rng.choice(lines)
    return text + ("\n" + line) * rng.choice((10, 100, 300))


_DECLARED = re.compile(r"^\s*([^\W\d]\w*)\s*:", re.M)
ELEMENTWISE = ["exp", "log", "tanh", "σ", "relu", "sqrt", "softplus", "abs", "sin"]


def _grow(text, rng):
    """A few definitions built on a declared variable, each on the one before
    (g2 = tanh(g1) ⊙ g1 + g1, …), and the derivative of the last: deep
    elementwise compositions."""
    names = _DECLARED.findall(text)
    if not names:
        return text
    var = rng.choice(names)
    prev, lines = var, []
    for i in range(1, rng.randint(2, 8) + 1):
        a = f"{rng.choice(ELEMENTWISE)}({prev})" if rng.random() < 0.6 else prev
        b = f"{rng.choice(ELEMENTWISE)}({prev})" if rng.random() < 0.3 else prev
        lines.append(f"g{i} = {a}{rng.choice([' ⊙ ', ' + ', ' - ', ' ⊘ '])}{b}")
        prev = f"g{i}"
    return text + "\n" + "\n".join(lines) + f"\n∂(sum({prev}))/∂{var}"


MUTATIONS = [_edit_char, _swap_operator, _replace_number, _wrap_call, _add_suffix, _swap_names, _lines,
             _add_request, _nasty_line, _repeat, _grow]
#: how often each is drawn (character edits and structural edits most)
WEIGHTS = [6, 3, 3, 3, 3, 2, 2, 2, 2, 1, 3]


def mutate(cell: str, rng: random.Random, edits: int | None = None) -> str:
    """``cell`` after ``edits`` (default 1–3, mostly 1) random mutations."""
    for _ in range(edits if edits is not None else rng.choice((1, 1, 1, 2, 3))):
        cell = rng.choices(MUTATIONS, WEIGHTS)[0](cell, rng)
    return cell
