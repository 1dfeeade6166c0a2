"""Text of a ``%%mderive`` cell -> :class:`~matcalc_magic.syntax.tree.Program`.

The text is only ever *parsed* (with the LALR grammar in ``grammar.lark``),
never evaluated.  Every syntax error becomes exactly one
:class:`~matcalc_magic.errors.MatcalcError` pointing at the offending token
(or at the bracket that was never closed); no lark exception escapes.

lark is imported lazily, on the first call to :func:`parse`, and the parser is
built once and cached for the life of the process.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from fractions import Fraction

from ..deadline import now_working_on
from ..errors import MatcalcError, Span, line_col
from ..limits import literal_problem
from . import tree as T

__all__ = ["parse"]

_PARSER = None
_LOCK = threading.Lock()
_TLS = threading.local()


# =========================================================================
# public entry point
# =========================================================================
def parse(text: str) -> T.Program:
    """Parse a cell into a :class:`Program` (``Program.source`` is ``text``).

    Raises :class:`MatcalcError` (and nothing else) on a syntax error.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() expects a str, not {type(text).__name__}")
    parser = _get_parser()
    from lark.exceptions import LarkError, UnexpectedInput

    state = _LexState()
    _TLS.state = state
    err = None
    try:
        try:
            statements = parser.parse(text)
        except UnexpectedInput as e:
            err = _syntax_error(text, e, state)
        except MatcalcError as e:  # raised by a builder method
            err = e.with_source(text)
        except LarkError as e:  # pragma: no cover - defensive
            err = MatcalcError(f"could not parse this cell ({e})", Span(0, len(text)), text)
    except Exception as e:  # pragma: no cover - a bug in this module
        raise MatcalcError(
            f"internal error while reading this cell: {type(e).__name__}: {e}",
            Span(0, len(text)),
            text,
            hint="this is a bug in matcalc_magic's parser; please report it with the cell",
        ) from e
    finally:
        _TLS.state = None
    if err is not None:
        raise err from None
    return T.Program(Span(0, len(text)), tuple(statements), source=text)


def _get_parser():
    global _PARSER
    if _PARSER is None:
        with _LOCK:
            if _PARSER is None:
                from lark import Lark

                # Spans come from the tokens themselves (see _Builder), so
                # lark's own position propagation is not needed.
                _PARSER = Lark.open(
                    "grammar.lark",
                    rel_to=__file__,
                    parser="lalr",
                    lexer="contextual",
                    propagate_positions=False,
                    maybe_placeholders=True,
                    postlex=_PostLex(),
                    transformer=_Builder(),
                )
    return _PARSER


# =========================================================================
# post-lexer: bracket continuation lines, and which bars open or close
# =========================================================================
_OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB", "LSQB_INDEX": "RSQB", "LBRACE": "RBRACE"}
_CLOSERS = {"RPAR": ("LPAR",), "RSQB": ("LSQB", "LSQB_INDEX"), "RBRACE": ("LBRACE",)}

# Token types after which a '‖' or '|' can close a norm / absolute value
# (they end an operand).
_ENDS_OPERAND = frozenset({
    "NAME", "NUMBER", "ONES", "RPAR", "RSQB", "RBRACE", "NORM_CLOSE", "ABS_CLOSE",
    "PRIME", "DOT_T", "SUP_T", "SUP_TB", "SUPER_T", "SUPER_INV_T", "SUPNUM", "NORM_SUB",
})


class _LexState:
    """What the post-lexer has seen during one parse (for error messages)."""

    __slots__ = ("stack", "tokens")

    def __init__(self):
        self.stack = []   # open brackets / bars: tokens, innermost last
        self.tokens = []  # every token handed to the parser, in order


class _PostLex:
    always_accept = ("_NL", "NORMBAR", "ABSBAR", "LSQB")

    def process(self, stream):
        st = getattr(_TLS, "state", None)
        if st is None:  # pragma: no cover - parse() always sets it
            st = _LexState()
        stack, seen = st.stack, st.tokens
        depth = 0  # open (), [] and {} on the stack
        prev_type = None
        prev_end = -1
        for tok in stream:
            ty = tok.type
            if ty == "LSQB" and prev_type in _ENDS_OPERAND and tok.start_pos == prev_end:
                tok = tok.new_borrow_pos("LSQB_INDEX", tok.value, tok)  # θ[1:], not θ [1:]
                ty = tok.type
            if ty == "_NL":
                # a cell stopped by its time limit names the line it was reading
                now_working_on("reading this line", Span(tok.end_pos, tok.end_pos))
                if depth:
                    continue
            elif ty in _OPENERS:
                stack.append(tok)
                depth += 1
            elif ty in _CLOSERS:
                if stack and stack[-1].type in _CLOSERS[ty]:
                    stack.pop()
                    depth -= 1
            elif ty == "NORMBAR" or ty == "ABSBAR":
                kind = "NORM" if ty == "NORMBAR" else "ABS"
                if (
                    stack
                    and stack[-1].type == kind + "_OPEN"
                    and prev_type in _ENDS_OPERAND
                ):
                    tok = tok.new_borrow_pos(kind + "_CLOSE", tok.value, tok)
                    stack.pop()
                else:
                    tok = tok.new_borrow_pos(kind + "_OPEN", tok.value, tok)
                    stack.append(tok)
                ty = tok.type
            prev_type = ty
            prev_end = tok.end_pos
            seen.append(tok)
            yield tok


# =========================================================================
# syntax errors
# =========================================================================
_END_TYPES = frozenset({"$END", "_NL", "SEMICOLON"})

_DESCRIBE = {
    "NAME": "a name",
    "STRING": "a quoted word",
    "CALLEE": "a function call",
    "NUMBER": "a number",
    "ONES": "'𝟏'",
    "LSQB_INDEX": "'['",
    "MINUS": "'-'",
    "PARTIAL": "'∂'",
    "SUP_T": "'T'",
    "SUP_TB": "'T'",
    "SUPER_T": "'ᵀ'",
    "SUPER_INV_T": "'⁻ᵀ'",
    "SUPNUM": "a superscript",
    "PRIME": "\"'\"",
    "DOT_T": "'.T'",
    "NORM_SUB": "a norm subscript",
    "NORM_OPEN": "'‖'",
    "NORM_CLOSE": "'‖'",
    "ABS_OPEN": "'|'",
    "ABS_CLOSE": "'|'",
    "NORMBAR": "'‖'",
    "ABSBAR": "'|'",
    "CLAIM": "'claim'",
    "SCALAR": "'scalar'",
    "IN": "'∈'",
    "REALS": "'ℝ'",
    "SUPDIMS": "a superscript size",
    "_DIMSEP": "'x'",
    "_ASSIGN": "'='",
    "_NL": "end of line",
    "$END": "end of line",
    "SEMICOLON": "';'",
}

_TIMES_HINT = "'×' is only for sizes (W : m × n); write a product as W x, W @ x or W * x"

_STATEMENT_HINT = (
    "each line is a declaration (W : m x n), a definition (z = W x + b), "
    "requests (∂J/∂W, dJ/db) or a claim (claim ∂J/∂W = ...)"
)


def _quote(s: str) -> str:
    if not s.isprintable():
        return " ".join(f"U+{ord(ch):04X}" for ch in s)
    return f"'{s}'" if "'" not in s else f'"{s}"'


def _show(tok) -> str:
    if tok.type in _END_TYPES:
        return "end of line"
    value = str(tok.value)
    if len(value) > 30:
        value = value[:27] + "..."
    return _quote(value)


def _where(text: str, pos: int) -> str:
    line, col = line_col(text, pos)
    return f"line {line}, column {col}"


def _innermost_open(state: _LexState, before: int):
    """The innermost bracket or bar still open before offset ``before``."""
    for tok in reversed(state.stack):
        if tok.start_pos < before:
            return tok
    return None


def _operand_missing_before_bar(state: _LexState, opener):
    """For a bar that opened a norm right after an operator while the same
    kind of bar was already open (``‖x + ‖``): that operator, else None."""
    kind = opener.type
    if kind not in ("NORM_OPEN", "ABS_OPEN"):
        return None
    if not any(t.type == kind for t in state.stack if t is not opener):
        return None
    seen = state.tokens
    for i in range(len(seen) - 1, 0, -1):
        if seen[i] is opener:
            before = seen[i - 1]
            if before.type not in _ENDS_OPERAND and before.type not in _END_TYPES:
                return before
            return None
    return None


def _expected_words(expected) -> str | None:
    words = []
    for name in sorted(expected):
        if name in _DESCRIBE:
            word = _DESCRIBE[name]
        else:
            try:
                pattern = _PARSER.get_terminal(name).pattern
            except Exception:  # pragma: no cover
                return None
            if getattr(pattern, "type", None) != "str":
                return None
            word = _quote(pattern.value)
        if word not in words:
            words.append(word)
    if not words or len(words) > 4:
        return None
    if len(words) == 1:
        return "expected " + words[0]
    return "expected " + ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(text: str, e, state: _LexState) -> MatcalcError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(e, UnexpectedCharacters):
        # a character that starts no token of the language
        pos = e.pos_in_stream
        ch = text[pos] if 0 <= pos < len(text) else ""
        if not ch:  # pragma: no cover
            return MatcalcError("unexpected end of line", Span(len(text), len(text)), text)
        hint = None
        if ch in "\"'`":
            hint = "there are no strings in a derivation cell"
        elif ch == ".":
            hint = "'.' only appears in numbers (0.5), in '.T' and in np.-style function names"
        return MatcalcError(f"unexpected character {_quote(ch)}", Span(pos, pos + 1), text, hint=hint)

    if not isinstance(e, UnexpectedToken):  # pragma: no cover - LALR raises only these two
        return MatcalcError("could not parse this cell", Span(0, len(text)), text)

    seen = state.tokens
    tok = e.token
    expected = set(e.expected or ())
    at_end = tok.type == "$END"
    if at_end:
        start = end = len(text)
        prev = seen[-1] if seen else None
    else:
        start, end = tok.start_pos, tok.end_pos
        prev = None
        for t in reversed(seen):
            if t.start_pos < start:
                prev = t
                break
    ends_line = at_end or tok.type in _END_TYPES

    # -- a bracket (or norm bar) left open is the likely cause
    opener = _innermost_open(state, start)
    if opener is not None:
        missing = _operand_missing_before_bar(state, opener) if prev is opener else None
        if missing is not None:
            # ‖x + ‖ : the second bar was read as opening a nested norm
            return MatcalcError(
                f"expected an expression after {_show(missing)}", _tok_span(opener), text
            )
        if ends_line:
            return MatcalcError(f"unclosed {_quote(opener.value)} opened here", _tok_span(opener), text)
        if tok.type in _CLOSERS or tok.type in ("NORM_CLOSE", "ABS_CLOSE"):
            if opener.type in ("NORM_OPEN", "ABS_OPEN"):
                return MatcalcError(f"unclosed {_quote(opener.value)} opened here", _tok_span(opener), text)
            if tok.type in _CLOSERS and opener.type not in _CLOSERS[tok.type]:
                return MatcalcError(
                    f"{_quote(tok.value)} does not match {_quote(opener.value)} "
                    f"opened at {_where(text, opener.start_pos)}",
                    Span(start, end),
                    text,
                )
        elif text.count("\n", opener.start_pos, start):
            return MatcalcError(
                f"unclosed {_quote(opener.value)} opened here",
                _tok_span(opener),
                text,
                hint=(
                    "the lines after it were read as a continuation, up to the "
                    f"unexpected {_show(tok)} at {_where(text, start)}"
                ),
            )

    # -- an operand is missing after an operator
    if (
        ("NAME" in expected or "NUMBER" in expected)
        and prev is not None
        and prev.type not in _ENDS_OPERAND
        and prev.type not in _END_TYPES
    ):
        if "CALLEE" in expected:
            what = "an expression"
        elif "NUMBER" in expected:
            what = "a size"
        else:
            what = "a name"
        span = Span(prev.end_pos, prev.end_pos) if ends_line else Span(start, end)
        return MatcalcError(f"expected {what} after {_show(prev)}", span, text)

    # -- otherwise: this token cannot come here
    if ends_line:
        msg = "unexpected end of line"
        span = Span(prev.end_pos, prev.end_pos) if prev is not None else Span(start, end)
        if tok.type == "SEMICOLON":
            msg, span = "unexpected ';'", Span(start, end)
    else:
        msg = f"unexpected {_show(tok)}"
        span = Span(start, end)
    hint = None
    line_tokens = _statement_tokens(seen, start)
    first = line_tokens[0] if line_tokens else None
    committed = any(t.type in ("_ASSIGN", "COLON", "IN") for t in line_tokens)
    if str(tok.value) in ("×", "\\times"):
        hint = _TIMES_HINT
    elif tok.type in _CLOSERS or tok.type in ("NORM_CLOSE", "ABS_CLOSE"):
        hint = f"there is no open {_quote(_OPENER_TEXT.get(tok.type, str(tok.value)))} for it to close"
    elif first is not None and first.type == "CLAIM" and "_ASSIGN" in expected and ends_line:
        msg = "a claim needs a value: claim ∂J/∂W = ..."
    elif str(tok.value) in ("x", "×") and "COLON" in {t.type for t in line_tokens} and "COMMA" in expected:
        hint = "a declaration has one size (x : n) or two (W : m x n)"
    elif not committed:
        hint = _STATEMENT_HINT
    elif not ({"_NL", "$END"} & expected):
        hint = _expected_words(expected)
    return MatcalcError(msg, span, text, hint=hint)


_OPENER_TEXT = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}


def _statement_tokens(seen, before: int) -> list:
    """The tokens of the statement that offset ``before`` is in, up to it."""
    out = []
    for t in reversed(seen):
        if t.start_pos >= before:
            continue
        if t.type in ("_NL", "SEMICOLON"):
            break
        out.append(t)
    out.reverse()
    return out


def _tok_span(tok) -> Span:
    return Span(tok.start_pos, tok.end_pos)


# =========================================================================
# building tree.py nodes while parsing
# =========================================================================
# The builder is handed to lark as an inline transformer: the LALR parser
# calls one method per reduction with the list of children (Names and
# Numbers for NAME/NUMBER tokens, nodes built by earlier reductions, and the
# few punctuation tokens the grammar keeps so that spans can include them).
# Building the nodes during the parse, instead of building a lark tree first
# and transforming it afterwards, halves the time of a warm parse.


class _Wrap:
    """A value on its way up, with the span of the text it was read from.

    ``(a + b)`` is the node ``a + b`` whose text also covers the parentheses;
    ``names``, ``dims``, ``args`` etc. are plain tuples with a span.
    """

    __slots__ = ("value", "lo", "hi")

    def __init__(self, value, lo, hi):
        self.value = value
        self.lo = lo
        self.hi = hi


class _Hat:
    """The exponent of ``^T`` (kind "T") or ``^{-T}`` (kind "-T")."""

    __slots__ = ("kind", "lo", "hi")

    def __init__(self, kind, lo, hi):
        self.kind = kind
        self.lo = lo
        self.hi = hi


def _lo(x) -> int:
    if isinstance(x, T.Node):
        return x.span.start
    if isinstance(x, str):  # a lark Token
        return x.start_pos
    return x.lo


def _hi(x) -> int:
    if isinstance(x, T.Node):
        return x.span.end
    if isinstance(x, str):
        return x.end_pos
    return x.hi


def _e(x):
    """The node inside a value (unwrapping parentheses)."""
    return x.value if isinstance(x, _Wrap) else x


def _sp(first, last) -> Span:
    return Span(_lo(first), _hi(last))


def _tspan(tok) -> Span:
    return Span(tok.start_pos, tok.end_pos)


_SUPER_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
PLAIN_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPER_LETTERS = dict(zip(
    "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷʸᶻ⁰¹²³⁴⁵⁶⁷⁸⁹",
    "abcdefghijklmnoprstuvwyz0123456789",
))
_BRACED_SUB = re.compile(r"_\{([^{}]*)\}")
_GLUED_DIMS = re.compile(r"^([^\W\d_])x([^\W\d_]|[0-9]+)$")


def canonical_name(name: str) -> str:
    """A name as the cell's names are stored: ``b_{1}`` -> ``b_1``; NFC
    (``y`` + U+0302 -> ``ŷ``)."""
    if "{" in name:
        name = _BRACED_SUB.sub(r"_\1", name)
    return unicodedata.normalize("NFC", name)


_canon = canonical_name


def _sup_number(tok):
    """'²' -> Number(2); '⁻²' -> Neg(Number(2))."""
    digits = str(tok).translate(_SUPER_DIGITS)
    span = _tspan(tok)
    if digits.startswith("-"):
        return T.Neg(span, T.Number(Span(span.start + 1, span.end), int(digits[1:])))
    return T.Number(span, int(digits))


def _is_minus_one(node) -> bool:
    return (
        isinstance(node, T.Neg)
        and isinstance(node.operand, T.Number)
        and node.operand.value == 1
    )


def _is_d_name(name: T.Name) -> bool:
    return len(name.id) >= 2 and name.id[0] == "d"


def _strip_d(name: T.Name) -> T.Name:
    """``dJ`` -> ``J``, for the request ``dJ/dW``."""
    if not _is_d_name(name):
        raise MatcalcError(
            f"expected d followed by a variable name (as in dJ/dW), not '{name.id}'", name.span
        )
    return T.Name(Span(name.span.start + 1, name.span.end), unicodedata.normalize("NFC", name.id[1:]))


def _check_square(tok):
    if str(tok) != "²":
        raise MatcalcError(
            f"only first and second derivatives can be requested (found '{tok}')", _tspan(tok)
        )


def _binop(op):
    def build(self, c):
        # [left, right], or [left, MINUS, right] for subtraction
        return T.BinOp(_sp(c[0], c[-1]), op, _e(c[0]), _e(c[-1]))

    return build


def _transpose(self, c):
    return T.Transpose(_sp(c[0], c[1]), _e(c[0]))


class _Builder:
    """Inline transformer: one method per grammar rule (or alias)."""

    # ------------------------------------------------------------ tokens
    # (called by the parser when it shifts a token of that type)
    def NAME(self, tok):
        return T.Name(Span(tok.start_pos, tok.end_pos), _canon(str(tok)))

    def CLAIM(self, tok):
        return T.Name(Span(tok.start_pos, tok.end_pos), "claim")

    def STRING(self, tok):
        return T.Name(Span(tok.start_pos, tok.end_pos), str(tok)[1:-1])

    def ONES(self, tok):
        # 𝟏, 𝟏_n, 1_n, 1_{n}: the name 𝟏 or 𝟏_n
        return T.Name(Span(tok.start_pos, tok.end_pos), _canon("𝟏" + str(tok)[1:]))

    def NUMBER(self, tok):
        s = str(tok)
        span = Span(tok.start_pos, tok.end_pos)
        problem = literal_problem(s)  # before Fraction("1e999999999") computes 10**999999999
        if problem:
            raise MatcalcError(problem, span)
        return T.Number(span, int(s) if s.isdigit() else Fraction(s))

    # ------------------------------------------------------------ program
    def start(self, c):
        return c

    # ------------------------------------------------------------ declarations
    def names(self, c):
        return tuple(c)

    def props(self, c):
        return _Wrap(tuple(T.Name(n.span, n.id.lower()) for n in c), _lo(c[0]), _hi(c[-1]))

    def prop_words(self, c):
        # onehot rows: one property with its qualifier, "onehot rows"
        word, qualifier = c
        return T.Name(_sp(word, qualifier), f"{word.id} {qualifier.id}")

    def prop_call(self, c):
        # onehot(axis=1): "onehot axis=1"
        (call,) = c
        if isinstance(call, T.Call) and not call.args and len(call.kwargs) == 1:
            key, value = call.kwargs[0]
            negative = isinstance(value, T.Neg)
            number = value.operand if negative else value
            if isinstance(number, T.Number) and isinstance(number.value, int):
                return T.Name(call.span, f"{call.func} {key}={'-' if negative else ''}{number.value}")
        raise MatcalcError("a property takes one number, as in onehot(axis=1)", call.span)

    def decl(self, c):
        c = [x for x in c if not isinstance(x, str)]  # drop the '∈' token
        names, typ = c[0], c[1]
        props = c[2] if len(c) > 2 else None
        dims = typ.value
        if len(dims) == 1 and isinstance(dims[0], T.DimName):
            m = _GLUED_DIMS.match(dims[0].name)
            if m:  # W : mxn  means  W : m x n
                s = dims[0].span
                a, b = m.group(1), m.group(2)
                if literal_problem(b):
                    raise MatcalcError(literal_problem(b), Span(s.start + 2, s.end))
                second = (
                    T.DimNum(Span(s.start + 2, s.end), int(b)) if b.isdigit()
                    else T.DimName(Span(s.start + 2, s.end), b)
                )
                dims = (T.DimName(Span(s.start, s.start + 1), a), second)
        last = props if props is not None else typ
        return T.Decl(Span(_lo(names[0]), _hi(last)), names, dims, props.value if props else ())

    def scalar_type(self, c):
        return _Wrap((), _lo(c[0]), _hi(c[0]))

    def numpy_1d(self, c):
        # b : (M,): a NumPy 1-D array, which broadcasts as a row, 1×M
        lpar, size, rpar = c
        return _Wrap((T.DimNum(_tspan(lpar), 1), _e(size)), _lo(lpar), _hi(rpar))

    def numpy_2d(self, c):
        # X : (N, D), a NumPy shape
        return _Wrap((_e(c[1]), _e(c[2])), _lo(c[0]), _hi(c[-1]))

    def dims(self, c):
        return _Wrap(tuple(_e(d) for d in c), _lo(c[0]), _hi(c[-1]))

    def space_scalar(self, c):
        return _Wrap((), _lo(c[0]), _hi(c[0]))

    def space_one(self, c):
        return _Wrap((_e(c[1]),), _lo(c[0]), _hi(c[1]))

    def space_dims(self, c):
        return _Wrap(c[1].value, _lo(c[0]), _hi(c[-1]))

    def space_sup(self, c):
        tok = c[1]
        out = []
        offset = tok.start_pos
        for part in re.split(r"([ˣ×])", str(tok)):
            if part in ("ˣ", "×"):
                offset += 1
                continue
            plain = "".join(_SUPER_LETTERS.get(ch, ch) for ch in part)
            span = Span(offset, offset + len(part))
            if plain.isdigit():
                if literal_problem(plain):
                    raise MatcalcError(literal_problem(plain), span)
                out.append(T.DimNum(span, int(plain)))
            elif len(plain) == 1:
                out.append(T.DimName(span, plain))
            else:
                raise MatcalcError(f"cannot read the size '{part}'; write ℝ^{{m×n}}", span)
            offset += len(part)
        return _Wrap(tuple(out), _lo(c[0]), _hi(tok))

    def dim_name(self, c):
        (name,) = c
        return T.DimName(name.span, name.id)

    def dim_num(self, c):
        (num,) = c
        if not isinstance(num.value, int):
            raise MatcalcError("a size must be a whole number", num.span)
        return T.DimNum(num.span, num.value)

    def dim_paren(self, c):
        return _Wrap(_e(c[1]), _lo(c[0]), _hi(c[2]))

    def _dim_bin(op):
        def build(self, c):
            return T.DimBin(_sp(c[0], c[-1]), op, _e(c[0]), _e(c[-1]))

        return build

    dim_add = _dim_bin("+")
    dim_sub = _dim_bin("-")
    dim_mul = _dim_bin("*")
    del _dim_bin

    # ------------------------------------------------------------ statements
    def define(self, c):
        target, value = c
        return T.Define(_sp(target, value), target, _e(value))

    def requests(self, c):
        return T.Requests(_sp(c[0], c[-1]), tuple(c))

    def claim(self, c):
        _kw, target, value = c
        return T.Claim(_sp(_kw, value), target, _e(value))

    def d_request(self, c):
        of, wrt = c
        span = _sp(of, wrt)
        if not (_is_d_name(of) and _is_d_name(wrt)):
            raise MatcalcError(
                f"'{of.id}/{wrt.id}' is not a request: write ∂J/∂W or dJ/dW",
                span,
                hint=_STATEMENT_HINT,
            )
        return T.Deriv(span, _strip_d(of), _strip_d(wrt))

    def d_request_spaced(self, c):
        # d J / d W
        d1, of, d2, wrt = c
        for d in (d1, d2):
            if d.id != "d":
                raise MatcalcError(
                    f"'{d.id} {of.id}/{d2.id} {wrt.id}' is not a request: write ∂J/∂W or dJ/dW",
                    _sp(d1, wrt),
                    hint=_STATEMENT_HINT,
                )
        return T.Deriv(_sp(d1, wrt), of, wrt)

    def d_paren_request(self, c):
        # d (x^T A x) / dx
        d, of, wrt = c
        if d.id != "d":
            raise MatcalcError(
                "a derivative request is written d(...)/dx or ∂(...)/∂x", d.span, hint=_STATEMENT_HINT
            )
        return T.Deriv(_sp(d, wrt), _e(of), _strip_d(wrt))

    def d2_request(self, c):
        d, sup1, of, wrt, sup2 = c
        if d.id != "d":
            raise MatcalcError(
                f"unexpected '{d.id}': a second derivative is written d²J/dx² or ∂²J/∂x²", d.span
            )
        _check_square(sup1)
        _check_square(sup2)
        return T.Deriv(_sp(d, sup2), of, _strip_d(wrt), 2)

    def call_request(self, c):
        call = c[0]
        if len(c) == 1:
            if isinstance(call, (T.Hessian, T.HVP)):
                return call
            raise MatcalcError(
                f"'{call.func}(...)' on its own line is not a request",
                call.func_span or call.span,
                hint=_STATEMENT_HINT,
            )
        wrt = c[1]
        if not (isinstance(call, T.Call) and call.func == "d" and call.primes == 0):
            raise MatcalcError(
                "a derivative request is written d(...)/dx or ∂(...)/∂x",
                getattr(call, "func_span", None) or call.span,
            )
        if len(call.args) != 1 or call.kwargs:
            raise MatcalcError("d(...)/dx takes one expression in the parentheses", call.span)
        return T.Deriv(_sp(call, wrt), call.args[0], _strip_d(wrt))

    def deriv(self, c):
        # PARTIAL of PARTIAL NAME  ('/' is dropped)
        return T.Deriv(_sp(c[0], c[-1]), _e(c[1]), c[3])

    def deriv2_sq(self, c):
        # PARTIAL SUPNUM of PARTIAL NAME SUPNUM  ('/' is dropped)
        _check_square(c[1])
        _check_square(c[5])
        return T.Deriv(_sp(c[0], c[5]), _e(c[2]), c[4], 2)

    def tmark(self, c):
        return _Wrap(None, _lo(c[0]), _hi(c[-1]))

    def deriv2_mixed(self, c):
        # PARTIAL SUPNUM of PARTIAL NAME PARTIAL NAME [transpose mark]
        _check_square(c[1])
        wrt1, wrt2 = c[4], c[6]
        if wrt1.id != wrt2.id:
            raise MatcalcError(
                f"mixed second derivatives are not supported; "
                f"write ∂²J/∂{wrt1.id}∂{wrt1.id}ᵀ or ∂²J/∂{wrt1.id}²",
                wrt2.span,
            )
        return T.Deriv(_sp(c[0], c[-1]), _e(c[2]), wrt1, 2)

    # ------------------------------------------------------------ expressions
    add = _binop("+")
    sub = _binop("-")
    matmul = _binop("@")
    emul = _binop("*")
    div = _binop("/")
    hadamard = _binop("⊙")
    hdiv = _binop("⊘")
    kron = _binop("⊗")
    pow = _binop("**")

    def juxt(self, c):
        return T.Juxt(_sp(c[0], c[1]), _e(c[0]), _e(c[1]))

    def neg(self, c):
        return T.Neg(_sp(c[0], c[1]), _e(c[1]))

    def paren(self, c):
        return _Wrap(_e(c[1]), _lo(c[0]), _hi(c[2]))

    def hat_t(self, c):
        return _Hat("T", _lo(c[0]), _hi(c[-1]))

    def hat_inv_t(self, c):
        return _Hat("-T", _lo(c[0]), _hi(c[-1]))

    def hat(self, c):
        base, exp = c
        span = _sp(base, exp)
        if isinstance(exp, _Hat):
            if exp.kind == "T":
                return T.Transpose(span, _e(base))
            return T.Inverse(span, _e(base), True)
        exp = _e(exp)
        if _is_minus_one(exp):
            return T.Inverse(span, _e(base), False)
        return T.BinOp(span, "^", _e(base), exp)

    t_prime = _transpose
    t_dot = _transpose
    t_super = _transpose

    def inv_t_super(self, c):
        return T.Inverse(_sp(c[0], c[1]), _e(c[0]), True)

    def sup_num(self, c):
        base, tok = c
        exp = _sup_number(tok)
        if _is_minus_one(exp):
            return T.Inverse(_sp(base, tok), _e(base), False)
        return T.BinOp(_sp(base, tok), "^", _e(base), exp)

    def index(self, c):
        # postfix LSQB_INDEX subscripts RSQB
        return T.Index(_sp(c[0], c[3]), _e(c[0]), c[2])

    def subscripts(self, c):
        return tuple(_e(x) for x in c)

    def slice(self, c):
        start, colon, stop = c
        lo = _lo(start) if start is not None else colon.start_pos
        hi = _hi(stop) if stop is not None else colon.end_pos
        return T.Slice(Span(lo, hi), _e(start), _e(stop))

    def call(self, c):
        tok, args, rpar = c
        raw = str(tok)
        name = raw.rstrip("'′")
        primes = len(raw) - len(name)
        func_span = Span(tok.start_pos, tok.start_pos + len(name))
        func = _canon(name)
        pos, kws = [], []
        for a in args or ():
            if isinstance(a, tuple):
                kws.append(a)
            else:
                if kws:
                    raise MatcalcError("a positional argument cannot follow a keyword argument", a.span)
                pos.append(a)
        span = Span(tok.start_pos, rpar.end_pos)
        if func == "hessian" and primes == 0:
            if len(pos) != 2 or kws:
                raise MatcalcError("hessian takes two arguments: hessian(J, x)", span)
            if not isinstance(pos[1], T.Name):
                raise MatcalcError("the second argument of hessian(J, x) must be a variable", pos[1].span)
            return T.Hessian(span, pos[0], pos[1])
        if func == "hvp" and primes == 0:
            if len(pos) != 3 or kws:
                raise MatcalcError("hvp takes three arguments: hvp(J, w, v), the Hessian of J by w times v", span)
            for arg, what in ((pos[1], "second"), (pos[2], "third")):
                if not isinstance(arg, T.Name):
                    raise MatcalcError(f"the {what} argument of hvp(J, w, v) must be a variable", arg.span)
            return T.HVP(span, pos[0], pos[1], pos[2])
        return T.Call(span, func, tuple(pos), tuple(kws), primes, func_span)

    def args(self, c):
        return [_e(x) for x in c]

    def kwarg(self, c):
        name, value = c
        return (name.id, _e(value))

    def tuple(self, c):
        return T.TupleLit(_sp(c[0], c[-1]), tuple(_e(x) for x in c[1:-1]))

    def list(self, c):
        span = _sp(c[0], c[-1])
        rows, row = [], []
        for x in c[1:-1]:
            if isinstance(x, str):  # ';' ends a row of a block
                rows.append(tuple(row))
                row = []
            else:
                row.append(_e(x))
        if not rows:
            return T.ListLit(span, tuple(row))
        return T.Block(span, tuple(rows) + (tuple(row),))

    def abs(self, c):
        return T.Abs(_sp(c[0], c[2]), _e(c[1]))

    def norm(self, c):
        _open, operand, close, sub, power = c
        kind = None
        if sub is not None:
            kind = str(sub)
            if kind.startswith("_"):
                kind = kind[1:]
            if kind.startswith("{") and kind.endswith("}"):
                kind = kind[1:-1]
            kind = kind.translate(PLAIN_DIGITS)
            if kind in ("∞", "\\infty"):
                kind = "inf"
        last = power if power is not None else (sub if sub is not None else close)
        return T.Norm(_sp(_open, last), _e(operand), kind, _e(power))

    def norm_power(self, c):
        (exp,) = c
        if isinstance(exp, _Hat):
            raise MatcalcError("a norm is a number and cannot be transposed", Span(exp.lo, exp.hi))
        if isinstance(exp, str):  # SUPNUM
            return _sup_number(exp)
        return exp
