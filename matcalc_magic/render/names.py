"""How identifiers print: ``θ`` → ``\\theta``, ``W1`` → ``W_{1}``, ``ŷ`` → ``\\hat{y}``.

SymPy's symbol printer already knows Greek names, subscripts and accents
(``theta_1``, ``yhat``); Unicode spellings are mapped onto those names first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..syntax.parse import PLAIN_DIGITS

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu",
    "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon",
    "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "ϕ": "phi", "ϵ": "epsilon", "ℓ": "ell",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi",
    "Σ": "Sigma", "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot", "\u20d7": "vec"}
_SUBSCRIPT_TEXT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _ascii_name(name: str) -> str:
    """Spell a Unicode identifier the way SymPy's printer understands."""
    name = name.translate(PLAIN_DIGITS)
    out = []
    for ch in unicodedata.normalize("NFD", name):
        if ch in _ACCENTS and out:
            out[-1] = out[-1] + _ACCENTS[ch]
        elif ch in _GREEK:
            out.append(_GREEK[ch])
        else:
            out.append(ch)
    text = "".join(out)
    # W1 → W_1 ; theta1 → theta_1 (SymPy would do it too, but only for trailing digits)
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", text)
    if m and "_" not in text:
        text = f"{m.group(1)}_{m.group(2)}"
    return text


@lru_cache(maxsize=4096)
def name_latex(name: str) -> str:
    """``W1`` → ``W_{1}``, ``σ_f`` → ``\\sigma_{f}``, ``ŷ`` → ``\\hat{y}``; a name of
    several letters is its letters, each as LaTeX writes it (``ρh`` →
    ``\\rho h``, ``dK_dℓ`` → ``dK_{d\\ell}``), never a SymPy name it does not
    know (``rhoh``)."""
    name = unicodedata.normalize("NFC", name).translate(PLAIN_DIGITS)
    base, sep, sub = name.partition("_")
    if not sep:
        m = re.fullmatch(r"(\D+?)(\d+)", name)  # W1, θ2: the digits are a subscript
        base, sub = (m.group(1), m.group(2)) if m else (name, "")
    text = _word_latex(base)
    return text + (f"_{{{name_latex(sub)}}}" if sub else "")


def _word_latex(word: str) -> str:
    import sympy

    if word.isdigit():
        return word
    letters = _letters(word)
    whole = sympy.latex(sympy.Symbol(_ascii_name(word)))
    if len(letters) == 1 or "\\" in whole:  # x, θ, ŷ, alpha, yhat, rhohat: a name SymPy knows
        return whole
    parts = [sympy.latex(sympy.Symbol(_ascii_name(letter))) for letter in letters]
    return "".join(p + (" " if p.startswith("\\") and p[-1].isalpha() else "") for p in parts).strip()


def _letters(word: str) -> list[str]:
    """The letters of a word, each with its accents (ŷ is one letter)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", word):
        if out and unicodedata.combining(ch):
            out[-1] += ch
        else:
            out.append(ch)
    return [unicodedata.normalize("NFC", letter) for letter in out]


def name_text(name: str) -> str:
    """Plain-text spelling; digits after ``_`` become Unicode subscripts."""
    m = re.fullmatch(r"(.+?)_(\d+)", name)
    if m:
        return m.group(1) + m.group(2).translate(_SUBSCRIPT_TEXT)
    return name


def name_python(name: str) -> str:
    """A valid Python identifier for generated code: the user's own name
    (b1, θ, ŷ) when Python accepts it, so the code runs on their arrays;
    in NFKC form, as Python reads names (``ℓ`` is ``l``, ``x²`` is ``x2``)."""
    import keyword

    name = unicodedata.normalize("NFKC", name)
    if name.isidentifier() and not keyword.iskeyword(name) and name != "np":
        return name
    text = _ascii_name(name)
    text = re.sub(r"\W", "_", text)
    if not text or text[0].isdigit():
        text = "v_" + text
    if text in {"lambda", "def", "class", "in", "is", "if", "or", "and", "not", "np"}:
        text += "_"
    return text
