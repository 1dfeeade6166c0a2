/**
 * Tokenizer for the `%%mderive` cell-magic language.
 *
 * A pure module (no JupyterLab or CodeMirror imports) so that it can be unit
 * tested on its own.  It works one line at a time: every construct of the
 * language fits on a line, so no state is carried between lines.
 *
 * A line is one of
 *
 *   - the magic line:    `%%mderive --layout=denominator --steps`
 *                        (`%mderive ...` one-liners carry a statement after
 *                        their options)
 *   - a declaration:     `W : m x n, symmetric`, `x, y : n`, `x ∈ ℝ^{m×n}`
 *   - a definition:      `z = W x + b`, `J := sum(z)`
 *   - a request:         `∂J/∂W`, `dJ/dW, dJ/db`, `∂(x^T A x)/∂x`,
 *                        `hessian(J, x)`
 *   - a claim:           `claim ∂f/∂x = (A + A^T) x`
 *   - any expression,
 *
 * optionally followed by a `#` comment; statements may also be separated by
 * `;` on one line.
 */

/** The token classes the highlighter distinguishes. */
export type TokenType =
  | 'magic'
  | 'option'
  | 'optionValue'
  | 'comment'
  | 'declName'
  | 'size'
  | 'sizeSep'
  | 'property'
  | 'defTarget'
  | 'operator'
  | 'function'
  | 'request'
  | 'claim'
  | 'number'
  | 'name'
  | 'punctuation';

/** Every token type, in a stable order. */
export const TOKEN_TYPES: readonly TokenType[] = [
  'magic',
  'option',
  'optionValue',
  'comment',
  'declName',
  'size',
  'sizeSep',
  'property',
  'defTarget',
  'operator',
  'function',
  'request',
  'claim',
  'number',
  'name',
  'punctuation'
];

/** A token: the half-open character range `[from, to)` of a line. */
export interface IToken {
  from: number;
  to: number;
  type: TokenType;
}

/** The CSS class given to tokens of a type: `mcm-` + kebab-case name. */
export function tokenClass(type: TokenType): string {
  return 'mcm-' + type.replace(/[A-Z]/g, c => '-' + c.toLowerCase());
}

/** Function names the engine knows (plain spelling). */
export const FUNCTIONS: ReadonlySet<string> = new Set([
  'exp',
  'log',
  'sqrt',
  'sin',
  'cos',
  'tan',
  'tanh',
  'σ',
  'sigmoid',
  'relu',
  'softplus',
  'abs',
  'sum',
  'mean',
  'tr',
  'trace',
  'det',
  'logdet',
  'inv',
  'diag',
  'kron',
  'vec',
  'outer',
  'softmax',
  'log_softmax',
  'logsumexp',
  'CE',
  'norm'
]);

/** Function names that follow `np.` (numpy spellings). */
export const NUMPY_FUNCTIONS: ReadonlySet<string> = new Set([
  'exp',
  'log',
  'sqrt',
  'sin',
  'cos',
  'tan',
  'tanh',
  'abs',
  'sum',
  'mean',
  'trace',
  'diag',
  'kron',
  'outer',
  'dot',
  'matmul',
  'transpose',
  'maximum',
  'minimum',
  'hstack',
  'vstack',
  'concatenate',
  'ones',
  'zeros',
  'eye',
  'identity',
  'ones_like',
  'zeros_like',
  'reshape',
  'square',
  'power'
]);

/** Function names that follow `np.linalg.`. */
export const LINALG_FUNCTIONS: ReadonlySet<string> = new Set([
  'inv',
  'det',
  'slogdet',
  'norm',
  'matrix_power',
  'solve',
  'pinv',
  'eigh',
  'cholesky'
]);

/** Words naming a derivative request when followed by `(`. */
export const REQUEST_FUNCTIONS: ReadonlySet<string> = new Set([
  'hessian',
  'jacobian',
  'grad',
  'gradient'
]);

/** Property words allowed after the size in a declaration. */
export const PROPERTIES: ReadonlySet<string> = new Set([
  'symmetric',
  'spd',
  'psd',
  'invertible',
  'positive',
  'negative',
  'nonnegative',
  'definite',
  'semidefinite',
  'diagonal',
  'orthogonal',
  'triangular',
  'onehot',
  'one-hot',
  'probability',
  'constant'
]);

/** Words that stand for a shape by themselves in a declaration. */
export const SHAPE_WORDS: ReadonlySet<string> = new Set([
  'scalar',
  'vector',
  'matrix'
]);

// Identifiers: Unicode letters (θ, ŷ, λ, σ ...) or `_`, then letters,
// digits, combining marks (y + U+0302), subscript digits and `_`.
const IDENT = /[\p{L}_][\p{L}\p{N}\p{M}_\u2080-\u2089]*/uy;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const SPACE = /\s+/y;
const MAGIC = /^(\s*)(%%mderive|%mderive)(?![\w-])/;
const DECL_HEAD =
  /^(\s*)([\p{L}_][\p{L}\p{N}\p{M}_\u2080-\u2089]*(?:\s*,\s*[\p{L}_][\p{L}\p{N}\p{M}_\u2080-\u2089]*)*)\s*(:(?!=)|∈)/u;
const DEF_HEAD =
  /^(\s*)([\p{L}_][\p{L}\p{N}\p{M}_\u2080-\u2089]*)\s*(:=|=(?!=))/u;
const CLAIM_HEAD = /^(\s*)(claim)(?![\p{L}\p{N}_])/u;

/** `∂J/∂W`, `∂²f/∂x²`, `∂²f/∂x∂y`, `dJ/dW` as one token (sticky regexes). */
const NAME_SRC = '[\\p{L}_][\\p{L}\\p{N}\\p{M}_\\u2080-\\u2089]*';
const PARTIAL_REQUEST = new RegExp(
  `∂[²³]?\\s*${NAME_SRC}\\s*/\\s*∂\\s*${NAME_SRC}[²³]?(?:\\s*∂\\s*${NAME_SRC}(?:\\^T|ᵀ)?)?`,
  'uy'
);
const D_REQUEST = new RegExp(`d${NAME_SRC}\\s*/\\s*d${NAME_SRC}`, 'uy');
const PARTIAL_OPEN = /(?:∂[²³]?|d)\s*\(/uy;
const PARTIAL_CLOSE = new RegExp(
  `\\)\\s*/\\s*(?:∂[²³]?\\s*${NAME_SRC}[²³]?(?:\\s*∂\\s*${NAME_SRC})?|d${NAME_SRC})`,
  'uy'
);
const NABLA = new RegExp(`∇(?:_\\{?${NAME_SRC}\\}?|${NAME_SRC})?`, 'uy');

/** Operators, longest first. */
const OPERATORS = [
  ':=',
  '**',
  '.T',
  '@',
  '*',
  '/',
  '+',
  '-',
  '⊙',
  '∘',
  '⊘',
  '⊗',
  '·',
  '×',
  '=',
  '∈',
  '⁻¹',
  'ᵀ',
  "'"
];
// `^T`, `^{T}`, `^{-1}`, `^-1`, `^{-T}`, `^(-1)` as one token; a bare `^`
// otherwise (its exponent is tokenized as usual).
const POWER_OP = /\^(?:\{\s*-?\s*(?:T|1)\s*\}|\(\s*-\s*1\s*\)|-1|-T|T)|\^/y;
const PUNCTUATION = '()[]{},;|‖:';

function sticky(re: RegExp, text: string, pos: number): string | null {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m ? m[0] : null;
}

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}\p{M}_]/u.test(ch);
}

/** True when a cell's first line makes it a `%%mderive` cell. */
export function isMderiveCell(text: string): boolean {
  return /^%%mderive(?![\w-])/.test(text);
}

/** True when a line is a `%mderive` one-liner (line magic). */
export function isLineMagic(line: string): boolean {
  return /^\s*%mderive(?![\w-])/.test(line);
}

/** Accumulates tokens for one line. */
class LineTokenizer {
  readonly tokens: IToken[] = [];

  constructor(readonly text: string) {}

  push(from: number, to: number, type: TokenType): void {
    if (to > from) {
      this.tokens.push({ from, to, type });
    }
  }

  /** Position of the first non-space character at or after `pos`. */
  skipSpace(pos: number, end: number): number {
    const m = sticky(SPACE, this.text, pos);
    return m ? Math.min(pos + m.length, end) : pos;
  }

  /** Tokenize a whole line. */
  line(): IToken[] {
    const text = this.text;
    const magic = MAGIC.exec(text);
    if (magic) {
      const start = magic[1].length;
      const end = start + magic[2].length;
      this.push(start, end, 'magic');
      this.magicArgs(end, magic[2] === '%mderive');
    } else {
      const end = this.commentStart(0);
      this.statements(0, end);
      this.push(end, text.length, 'comment');
    }
    return this.tokens;
  }

  /** Where a `#` comment starts (or the line's length). */
  commentStart(pos: number): number {
    const i = this.text.indexOf('#', pos);
    return i < 0 ? this.text.length : i;
  }

  /** Options of the magic line; a one-liner's statement after them. */
  magicArgs(pos: number, lineMagic: boolean): void {
    const text = this.text;
    let i = pos;
    let expectValue = false;
    while (i < text.length) {
      i = this.skipSpace(i, text.length);
      if (i >= text.length) {
        break;
      }
      if (text[i] === '#') {
        this.push(i, text.length, 'comment');
        return;
      }
      const opt = sticky(/--?[A-Za-z][\w-]*/y, text, i);
      if (opt) {
        this.push(i, i + opt.length, 'option');
        i += opt.length;
        if (text[i] === '=') {
          this.push(i, i + 1, 'operator');
          i += 1;
          const value = sticky(/"[^"]*"?|'[^']*'?|[^\s#]+/y, text, i);
          if (value) {
            this.push(i, i + value.length, 'optionValue');
            i += value.length;
          }
          expectValue = false;
        } else {
          expectValue = true;
        }
        continue;
      }
      const quoted = sticky(/"[^"]*"?|'[^']*'?/y, text, i);
      if (quoted && !lineMagic) {
        this.push(i, i + quoted.length, 'optionValue');
        i += quoted.length;
        expectValue = false;
        continue;
      }
      const word = sticky(/[\w.-]+(?=\s|$)/y, text, i);
      if (!lineMagic && word) {
        this.push(i, i + word.length, 'optionValue');
        i += word.length;
        continue;
      }
      if (lineMagic && word && expectValue) {
        // `--layout denominator ∂f/∂x`: a bare word right after an option
        // is its value when more follows it.
        const after = this.skipSpace(i + word.length, text.length);
        if (after < text.length && text[after] !== '#') {
          this.push(i, i + word.length, 'optionValue');
          i += word.length;
          expectValue = false;
          continue;
        }
      }
      if (!lineMagic) {
        // Anything else on a cell magic's line: skip a character.
        i += 1;
        continue;
      }
      const end = this.commentStart(i);
      this.statements(i, end);
      this.push(end, text.length, 'comment');
      return;
    }
  }

  /** `;`-separated statements in `[pos, end)`. */
  statements(pos: number, end: number): void {
    let depth = 0;
    let start = pos;
    for (let i = pos; i < end; i++) {
      const ch = this.text[i];
      if ('([{'.includes(ch)) {
        depth++;
      } else if (')]}'.includes(ch)) {
        depth = Math.max(0, depth - 1);
      } else if (ch === ';' && depth === 0) {
        this.statement(start, i);
        this.push(i, i + 1, 'punctuation');
        start = i + 1;
      }
    }
    this.statement(start, end);
  }

  /** One statement in `[pos, end)`. */
  statement(pos: number, end: number): void {
    const seg = this.text.slice(pos, end);
    if (!seg.trim()) {
      return;
    }
    const claim = CLAIM_HEAD.exec(seg);
    if (claim) {
      const from = pos + claim[1].length;
      this.push(from, from + claim[2].length, 'claim');
      this.expression(from + claim[2].length, end);
      return;
    }
    const decl = DECL_HEAD.exec(seg);
    if (decl && !this.looksLikeRequest(pos + decl[1].length)) {
      let i = pos + decl[1].length;
      const headEnd = pos + decl[0].length - decl[3].length;
      // Declared names and the commas between them.
      while (i < headEnd) {
        i = this.skipSpace(i, headEnd);
        const name = sticky(IDENT, this.text, i);
        if (name) {
          this.push(i, i + name.length, 'declName');
          i += name.length;
        } else if (this.text[i] === ',') {
          this.push(i, i + 1, 'punctuation');
          i += 1;
        } else {
          i += 1;
        }
      }
      const sep = pos + decl[0].length - decl[3].length;
      this.push(sep, sep + decl[3].length, decl[3] === '∈' ? 'operator' : 'punctuation');
      this.declarationType(sep + decl[3].length, end);
      return;
    }
    const def = DEF_HEAD.exec(seg);
    if (def) {
      const from = pos + def[1].length;
      this.push(from, from + def[2].length, 'defTarget');
      const op = pos + def[0].length - def[3].length;
      this.push(op, op + def[3].length, 'operator');
      this.expression(op + def[3].length, end);
      return;
    }
    this.expression(pos, end);
  }

  /** `dJ/dW : ...` is not a declaration; guard the rare overlap. */
  looksLikeRequest(pos: number): boolean {
    return sticky(D_REQUEST, this.text, pos) !== null;
  }

  /**
   * The right of a declaration: a shape (`m x n`, `n×n`, `3x3`, `scalar`,
   * `ℝ^{m×n}`) then `, property, property`.
   */
  declarationType(pos: number, end: number): void {
    const text = this.text;
    let i = pos;
    let inProperties = false;
    let lastWasSize = false;
    while (i < end) {
      i = this.skipSpace(i, end);
      if (i >= end) {
        break;
      }
      const ch = text[i];
      if (ch === ',') {
        this.push(i, i + 1, 'punctuation');
        i += 1;
        inProperties = true;
        lastWasSize = false;
        continue;
      }
      if (inProperties) {
        const word = sticky(/[\p{L}_][\p{L}\p{N}_-]*/uy, text, i);
        if (word) {
          this.push(i, i + word.length, PROPERTIES.has(word.toLowerCase()) ? 'property' : 'name');
          i += word.length;
          continue;
        }
        i += 1;
        continue;
      }
      // `3x3`, `2×n`: a number glued to a separator.
      const glued = sticky(/(\d+)([x×])(?=[\d\p{L}_])/uy, text, i);
      if (glued) {
        const m = /(\d+)([x×])/.exec(glued)!;
        this.push(i, i + m[1].length, 'size');
        this.push(i + m[1].length, i + glued.length, 'sizeSep');
        i += glued.length;
        lastWasSize = false;
        continue;
      }
      if (ch === '×' || ch === '*') {
        this.push(i, i + 1, 'sizeSep');
        i += 1;
        lastWasSize = false;
        continue;
      }
      const num = sticky(NUMBER, text, i);
      if (num) {
        this.push(i, i + num.length, 'size');
        i += num.length;
        lastWasSize = true;
        continue;
      }
      const word = sticky(IDENT, text, i);
      if (word) {
        const next = this.skipSpace(i + word.length, end);
        const followedBySize =
          next > i + word.length && next < end && /[\p{L}\p{N}_]/u.test(text[next]);
        if (word === 'x' && lastWasSize && followedBySize) {
          this.push(i, i + 1, 'sizeSep');
          lastWasSize = false;
        } else if (!lastWasSize && PROPERTIES.has(word.toLowerCase())) {
          // `S : symmetric` (shape left out).
          this.push(i, i + word.length, 'property');
          inProperties = true;
        } else {
          // A size name, a shape word (scalar) or the field (ℝ, R).
          this.push(i, i + word.length, 'size');
          lastWasSize = true;
        }
        i += word.length;
        continue;
      }
      if (ch === '^' || ch === '{' || ch === '}' || ch === '(' || ch === ')') {
        this.push(i, i + 1, 'punctuation');
        i += 1;
        lastWasSize = false;
        continue;
      }
      i += 1;
    }
  }

  /** Any expression in `[pos, end)`. */
  expression(pos: number, end: number): void {
    const text = this.text;
    let i = pos;
    // Open `∂(` groups waiting for their `)/∂x`, as paren depths.
    const requestGroups: number[] = [];
    let depth = 0;
    // Whether the previous token ends an operand (for `'` and `.T`).
    let afterOperand = false;
    while (i < end) {
      i = this.skipSpace(i, end);
      if (i >= end) {
        break;
      }
      const ch = text[i];
      let m: string | null;

      // Derivative requests.
      if ((m = sticky(PARTIAL_REQUEST, text, i)) && i + m.length <= end) {
        this.push(i, i + m.length, 'request');
        i += m.length;
        afterOperand = true;
        continue;
      }
      if (!isIdentChar(text[i - 1]) && (m = sticky(D_REQUEST, text, i)) && i + m.length <= end) {
        this.push(i, i + m.length, 'request');
        i += m.length;
        afterOperand = true;
        continue;
      }
      if (
        (ch === '∂' || (ch === 'd' && !isIdentChar(text[i - 1]))) &&
        (m = sticky(PARTIAL_OPEN, text, i))
      ) {
        // `∂(` / `d(`: a request only if a matching `)/∂x` follows.
        if (this.hasRequestClose(i + m.length, end)) {
          this.push(i, i + m.length, 'request');
          i += m.length;
          depth++;
          requestGroups.push(depth);
          afterOperand = false;
          continue;
        }
      }
      if (ch === ')' && requestGroups.length && requestGroups[requestGroups.length - 1] === depth) {
        m = sticky(PARTIAL_CLOSE, text, i);
        if (m) {
          this.push(i, i + m.length, 'request');
          i += m.length;
          requestGroups.pop();
          depth--;
          afterOperand = true;
          continue;
        }
      }
      if ((m = sticky(NABLA, text, i))) {
        this.push(i, i + m.length, 'request');
        i += m.length;
        afterOperand = false;
        continue;
      }

      // Numbers.
      if (/[\d.]/.test(ch) && (m = sticky(NUMBER, text, i)) && !(ch === '.' && afterOperand)) {
        this.push(i, i + m.length, 'number');
        i += m.length;
        afterOperand = true;
        continue;
      }

      // numpy spellings: np.exp, np.linalg.inv, numpy.linalg.det.
      const dotted = sticky(/(?:np|numpy)\.(?:linalg\.)?[A-Za-z_]\w*/y, text, i);
      if (dotted && !isIdentChar(text[i - 1])) {
        const parts = dotted.split('.');
        const last = parts[parts.length - 1];
        const known = parts.length === 3 ? LINALG_FUNCTIONS.has(last) : NUMPY_FUNCTIONS.has(last);
        this.push(i, i + dotted.length, known ? 'function' : 'name');
        i += dotted.length;
        afterOperand = !known;
        continue;
      }

      // Names, function names, request words.
      if ((m = sticky(IDENT, text, i))) {
        const next = this.skipSpace(i + m.length, end);
        if (REQUEST_FUNCTIONS.has(m) && text[next] === '(') {
          this.push(i, i + m.length, 'request');
          i += m.length;
          afterOperand = false;
          continue;
        }
        if (FUNCTIONS.has(m)) {
          // A derivative like relu' or σ'' belongs to the name.
          let to = i + m.length;
          while (text[to] === "'" || text[to] === '′') {
            to++;
          }
          this.push(i, to, 'function');
          i = to;
          afterOperand = false;
          continue;
        }
        this.push(i, i + m.length, 'name');
        i += m.length;
        afterOperand = true;
        continue;
      }

      // Operators.
      if (ch === '^' && (m = sticky(POWER_OP, text, i))) {
        this.push(i, i + m.length, 'operator');
        i += m.length;
        afterOperand = m.length > 1;
        continue;
      }
      const op = OPERATORS.find(o => text.startsWith(o, i));
      if (op && !(op === '.T' && (!afterOperand || isIdentChar(text[i + 2])))) {
        this.push(i, i + op.length, 'operator');
        i += op.length;
        afterOperand = op === "'" || op === '.T' || op === 'ᵀ' || op === '⁻¹';
        continue;
      }

      // Punctuation.
      if (PUNCTUATION.includes(ch)) {
        this.push(i, i + 1, 'punctuation');
        if ('([{'.includes(ch)) {
          depth++;
          afterOperand = false;
        } else if (')]}'.includes(ch)) {
          depth = Math.max(0, depth - 1);
          afterOperand = true;
        } else {
          afterOperand = false;
        }
        i += 1;
        continue;
      }
      // Anything else stays unstyled.
      const cp = text.codePointAt(i) ?? 0;
      i += cp > 0xffff ? 2 : 1;
      afterOperand = false;
    }
  }

  /** Whether the `(` group opening before `pos` closes with `)/∂x`. */
  hasRequestClose(pos: number, end: number): boolean {
    let depth = 1;
    for (let i = pos; i < end; i++) {
      const ch = this.text[i];
      if (ch === '(') {
        depth++;
      } else if (ch === ')') {
        depth--;
        if (depth === 0) {
          const m = sticky(PARTIAL_CLOSE, this.text, i);
          return m !== null && i + m.length <= end;
        }
      }
    }
    return false;
  }
}

/** Tokenize one line of a `%%mderive` cell (or a `%mderive` one-liner). */
export function tokenizeLine(text: string): IToken[] {
  return new LineTokenizer(text).line();
}

/** Tokenize a whole cell, line by line. */
export function tokenizeCell(text: string): IToken[][] {
  return text.split('\n').map(tokenizeLine);
}

/**
 * Readable form of a line's tokens: `[type, text]` pairs, for tests and
 * debugging.
 */
export function describeLine(text: string): Array<[TokenType, string]> {
  return tokenizeLine(text).map(t => [t.type, text.slice(t.from, t.to)]);
}
