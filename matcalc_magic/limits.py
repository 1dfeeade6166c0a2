"""How large the numbers of a cell may get.

Numbers are exact (SymPy) while deriving and float64 when evaluated.  A
constant beyond float64's range (about 1.8e308) is useless numerically, and
computing one exactly can take longer than any user waits: ``9 ** 9 ** 9`` has
370 million digits and Python's integer power cannot be interrupted.  So
constants are refused *before* they are computed, with a message that says
how large they would be; the checker reports it at the span that made them.
"""

from __future__ import annotations

import math
import re

import sympy

from .shapes import ShapeError

#: the largest decimal exponent of a constant (float64 reaches 1.8e308)
MAX_EXPONENT = 308
#: A^k: the derivative of a matrix power is a sum of |k| terms, its second
#: derivative (a Hessian through it) of about k²/2
MAX_MATRIX_POWER = 100
MAX_HESSIAN_MATRIX_POWER = 20
_RANGE = f"beyond the range of float64 numbers (about 10^±{MAX_EXPONENT}), in which cells are evaluated"
_LOG10_2 = math.log10(2)


class ConstantError(ShapeError):
    """A constant that cannot be computed or evaluated: not finite, or too
    large.  A ShapeError, so the checker reports it at the offending span."""


# ------------------------------------------------------------------ literals
_LITERAL = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?")


def literal_problem(text: str) -> str | None:
    """Why the number literal ``text`` (``12``, ``1.5e-3``) is refused, or None."""
    m = _LITERAL.fullmatch(text)
    if m is None:
        return None
    whole, frac = m.group("int"), m.group("frac") or ""
    digits = (whole + frac).lstrip("0")
    if len(digits) > MAX_EXPONENT:
        return f"the number {_short(text)} has {len(digits):,} digits; at most {MAX_EXPONENT} are read"
    if not digits:
        return None  # zero
    written = (m.group("exp") or "0").lstrip("+-").lstrip("0")
    if len(written) > 6:  # an exponent of a million or more: out of range with any ≤ 308-digit mantissa
        return f"the number {_short(text)} is {_RANGE}"
    exponent = int(m.group("exp") or 0)
    # the decimal exponent of the leading digit
    lead = len(whole.lstrip("0")) - 1 if whole.lstrip("0") else -(len(frac) - len(frac.lstrip("0")) + 1)
    if abs(lead + exponent) > MAX_EXPONENT:
        return f"the number {_short(text)} is {_RANGE}"
    return None


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…{text[-6:]} ({len(text)} characters)"


# ------------------------------------------------------------------ constants
def log10_abs(value) -> float | None:
    """log10 |value| of a SymPy number, without computing anything large
    (None: zero, or not a plain number)."""
    if not isinstance(value, sympy.Basic) or not value.is_Number:
        return None
    if value.is_Rational:
        p, q = abs(int(value.p)), int(value.q)
        if p == 0:
            return None
        return _log10_int(p) - _log10_int(q)
    if value.is_Float and value.is_finite:
        import mpmath

        return None if value == 0 else float(mpmath.log10(abs(mpmath.mpf(value._mpf_))))
    return None


def _log10_int(n: int) -> float:
    bits = n.bit_length()
    if bits < 1000:
        return math.log10(n)
    return (bits - 1) * _LOG10_2  # within a digit, which is all a range check needs


def check_constant(value):
    """``value`` if it is a usable constant; a ConstantError otherwise."""
    if not isinstance(value, sympy.Basic):
        return value
    if value.is_Number:
        if value.is_finite is not True:  # ±oo, nan
            raise ConstantError("this is not a finite number")
        size = log10_abs(value)
        if size is not None and abs(size) > MAX_EXPONENT:
            raise ConstantError(f"this constant is about 10^{size:,.0f}: {_RANGE}")
    elif value.is_number:
        if value.has(sympy.zoo, sympy.oo, sympy.nan):
            raise ConstantError("this is not a finite number")
        if value.is_extended_real is False:  # (-1) ** 0.5
            raise ConstantError("this is not a real number")
    return value


def check_power(base, exponent) -> None:
    """A ConstantError before ``base ** exponent`` of two numbers is computed
    exactly, if it would not be finite or would be out of range."""
    if not (isinstance(base, sympy.Basic) and isinstance(exponent, sympy.Basic)):
        return
    if not (base.is_number and exponent.is_number):
        return
    if base == 0 and exponent.is_extended_negative:
        raise ConstantError("division by zero")
    if not exponent.is_Number:
        return
    size = log10_abs(base if base.is_Number else sympy.N(abs(base), 15))
    if size is None:
        return
    estimate = float(exponent) * size
    if abs(estimate) > MAX_EXPONENT:
        raise ConstantError(f"this power is about 10^{estimate:,.0f}: {_RANGE}")
