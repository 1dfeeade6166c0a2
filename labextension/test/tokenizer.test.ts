import {
  TOKEN_TYPES,
  TokenType,
  describeLine,
  isLineMagic,
  isMderiveCell,
  tokenClass,
  tokenizeCell,
  tokenizeLine
} from '../src/highlight/tokenizer';

/** The `[type, text]` pairs of a line, whitespace-free. */
const tok = describeLine;

/** Texts of the tokens of one type. */
function texts(line: string, type: TokenType): string[] {
  return tok(line)
    .filter(([t]) => t === type)
    .map(([, s]) => s);
}

describe('magic line', () => {
  it('marks %%mderive and its options', () => {
    expect(tok('%%mderive --layout=denominator --steps')).toEqual([
      ['magic', '%%mderive'],
      ['option', '--layout'],
      ['operator', '='],
      ['optionValue', 'denominator'],
      ['option', '--steps']
    ]);
  });

  it('marks option values given after a space, and comments', () => {
    expect(tok('%%mderive --layout numerator  # keep it')).toEqual([
      ['magic', '%%mderive'],
      ['option', '--layout'],
      ['optionValue', 'numerator'],
      ['comment', '# keep it']
    ]);
  });

  it('tokenizes the statement of a %mderive one-liner', () => {
    expect(tok('%mderive --steps ∂(x^T A x)/∂x')).toEqual([
      ['magic', '%mderive'],
      ['option', '--steps'],
      ['request', '∂('],
      ['name', 'x'],
      ['operator', '^T'],
      ['name', 'A'],
      ['name', 'x'],
      ['request', ')/∂x']
    ]);
    expect(tok('%mderive --layout denominator dJ/dW')).toEqual([
      ['magic', '%mderive'],
      ['option', '--layout'],
      ['optionValue', 'denominator'],
      ['request', 'dJ/dW']
    ]);
    expect(tok('%mderive x : n; f = x^T x; ∂f/∂x')).toEqual([
      ['magic', '%mderive'],
      ['declName', 'x'],
      ['punctuation', ':'],
      ['size', 'n'],
      ['punctuation', ';'],
      ['defTarget', 'f'],
      ['operator', '='],
      ['name', 'x'],
      ['operator', '^T'],
      ['name', 'x'],
      ['punctuation', ';'],
      ['request', '∂f/∂x']
    ]);
  });

  it('does not take %mderived or %%mderive_x for the magic', () => {
    expect(texts('%%mderive_x', 'magic')).toEqual([]);
    expect(texts('%mderived', 'magic')).toEqual([]);
  });
});

describe('cell and line detection', () => {
  it('knows a %%mderive cell by its first line', () => {
    expect(isMderiveCell('%%mderive\nx : n')).toBe(true);
    expect(isMderiveCell('%%mderive --steps')).toBe(true);
    expect(isMderiveCell('%%mderive')).toBe(true);
    expect(isMderiveCell('import numpy as np\n%%mderive')).toBe(false);
    expect(isMderiveCell('%%mderived')).toBe(false);
    expect(isMderiveCell('%mderive ∂f/∂x')).toBe(false);
  });

  it('knows a %mderive one-liner', () => {
    expect(isLineMagic('%mderive ∂f/∂x')).toBe(true);
    expect(isLineMagic('    %mderive ∂f/∂x')).toBe(true);
    expect(isLineMagic('%%mderive')).toBe(false);
    expect(isLineMagic('x = 1  # %mderive')).toBe(false);
  });
});

describe('comments', () => {
  it('run from # to the end of the line', () => {
    expect(tok('# the loss')).toEqual([['comment', '# the loss']]);
    expect(tok('z = W x + b   # affine')).toEqual([
      ['defTarget', 'z'],
      ['operator', '='],
      ['name', 'W'],
      ['name', 'x'],
      ['operator', '+'],
      ['name', 'b'],
      ['comment', '# affine']
    ]);
  });
});

describe('declarations', () => {
  it('marks names, sizes, the x separator and properties', () => {
    expect(tok('W : m x n, symmetric')).toEqual([
      ['declName', 'W'],
      ['punctuation', ':'],
      ['size', 'm'],
      ['sizeSep', 'x'],
      ['size', 'n'],
      ['punctuation', ','],
      ['property', 'symmetric']
    ]);
  });

  it('declares a variable named x', () => {
    expect(tok('x : n')).toEqual([
      ['declName', 'x'],
      ['punctuation', ':'],
      ['size', 'n']
    ]);
  });

  it('tells the x separator from a size named x', () => {
    // `x` between two sizes separates them ...
    expect(tok('A : n x n')).toEqual([
      ['declName', 'A'],
      ['punctuation', ':'],
      ['size', 'n'],
      ['sizeSep', 'x'],
      ['size', 'n']
    ]);
    // ... but a lone size may be called x, and the separator may be x too.
    expect(tok('v : x')).toEqual([
      ['declName', 'v'],
      ['punctuation', ':'],
      ['size', 'x']
    ]);
    expect(tok('B : x x x')).toEqual([
      ['declName', 'B'],
      ['punctuation', ':'],
      ['size', 'x'],
      ['sizeSep', 'x'],
      ['size', 'x']
    ]);
    // In an expression x is always a name.
    expect(texts('y = A x', 'name')).toEqual(['A', 'x']);
    expect(texts('y = A x', 'sizeSep')).toEqual([]);
  });

  it('reads ×, glued sizes and numbers', () => {
    expect(tok('S : n×n, spd')).toEqual([
      ['declName', 'S'],
      ['punctuation', ':'],
      ['size', 'n'],
      ['sizeSep', '×'],
      ['size', 'n'],
      ['punctuation', ','],
      ['property', 'spd']
    ]);
    expect(tok('R3 : 3x3, invertible')).toEqual([
      ['declName', 'R3'],
      ['punctuation', ':'],
      ['size', '3'],
      ['sizeSep', 'x'],
      ['size', '3'],
      ['punctuation', ','],
      ['property', 'invertible']
    ]);
  });

  it('marks scalar and every property word', () => {
    expect(tok('c : scalar, positive')).toEqual([
      ['declName', 'c'],
      ['punctuation', ':'],
      ['size', 'scalar'],
      ['punctuation', ','],
      ['property', 'positive']
    ]);
    expect(texts('y : n, onehot', 'property')).toEqual(['onehot']);
    expect(texts('p : n, probability', 'property')).toEqual(['probability']);
    expect(texts('S : n x n, symmetric, invertible', 'property')).toEqual([
      'symmetric',
      'invertible'
    ]);
  });

  it('leaves unknown property words as names', () => {
    expect(tok('S : n x n, symetric').slice(-1)).toEqual([
      ['name', 'symetric']
    ]);
  });

  it('declares several names at once', () => {
    expect(tok('x, b : n')).toEqual([
      ['declName', 'x'],
      ['punctuation', ','],
      ['declName', 'b'],
      ['punctuation', ':'],
      ['size', 'n']
    ]);
  });

  it('reads x ∈ ℝ^{m×n}', () => {
    expect(tok('X ∈ ℝ^{m×n}')).toEqual([
      ['declName', 'X'],
      ['operator', '∈'],
      ['size', 'ℝ'],
      ['punctuation', '^'],
      ['punctuation', '{'],
      ['size', 'm'],
      ['sizeSep', '×'],
      ['size', 'n'],
      ['punctuation', '}']
    ]);
    expect(tok('x ∈ R^{m x n}')).toEqual([
      ['declName', 'x'],
      ['operator', '∈'],
      ['size', 'R'],
      ['punctuation', '^'],
      ['punctuation', '{'],
      ['size', 'm'],
      ['sizeSep', 'x'],
      ['size', 'n'],
      ['punctuation', '}']
    ]);
  });

  it('takes Unicode names', () => {
    expect(tok('θ : n')).toEqual([
      ['declName', 'θ'],
      ['punctuation', ':'],
      ['size', 'n']
    ]);
    expect(texts('ŷ, λ : k', 'declName')).toEqual(['ŷ', 'λ']);
    // y followed by a combining circumflex is one name.
    expect(texts('y\u0302 : k', 'declName')).toEqual(['y\u0302']);
  });
});

describe('definitions', () => {
  it('marks the target of = and :=', () => {
    expect(tok('z = W x + b')).toEqual([
      ['defTarget', 'z'],
      ['operator', '='],
      ['name', 'W'],
      ['name', 'x'],
      ['operator', '+'],
      ['name', 'b']
    ]);
    expect(tok('J := sum(z)')).toEqual([
      ['defTarget', 'J'],
      ['operator', ':='],
      ['function', 'sum'],
      ['punctuation', '('],
      ['name', 'z'],
      ['punctuation', ')']
    ]);
  });

  it('takes Unicode targets and names', () => {
    expect(tok('ŷ = σ(θ^T x)')).toEqual([
      ['defTarget', 'ŷ'],
      ['operator', '='],
      ['function', 'σ'],
      ['punctuation', '('],
      ['name', 'θ'],
      ['operator', '^T'],
      ['name', 'x'],
      ['punctuation', ')']
    ]);
    expect(texts('L = λ * norm(w)', 'name')).toEqual(['λ', 'w']);
  });
});

describe('operators', () => {
  it('marks every operator', () => {
    const line = "y = A @ x * 2 / c + b - d ⊙ e ∘ f ⊘ g ⊗ h ** 2 ^ 3 + A^T x + A^{-1} + B' + C.T";
    expect(texts(line, 'operator')).toEqual([
      '=',
      '@',
      '*',
      '/',
      '+',
      '-',
      '⊙',
      '∘',
      '⊘',
      '⊗',
      '**',
      '^',
      '+',
      '^T',
      '+',
      '^{-1}',
      '+',
      "'",
      '+',
      '.T'
    ]);
  });

  it('reads x^T A x as name, transpose, names', () => {
    expect(tok('f = x^T A x')).toEqual([
      ['defTarget', 'f'],
      ['operator', '='],
      ['name', 'x'],
      ['operator', '^T'],
      ['name', 'A'],
      ['name', 'x']
    ]);
  });
});

describe('functions', () => {
  it('marks every known function name', () => {
    const names = [
      'exp',
      'log',
      'sqrt',
      'sin',
      'cos',
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
    ];
    for (const name of names) {
      expect(tok(`y = ${name}(x)`)[2]).toEqual(['function', name]);
    }
  });

  it('marks numpy spellings', () => {
    const names = [
      'np.exp',
      'np.linalg.inv',
      'np.linalg.det',
      'np.linalg.norm',
      'np.linalg.matrix_power',
      'np.trace',
      'np.hstack',
      'np.vstack',
      'np.ones',
      'np.zeros',
      'np.eye'
    ];
    for (const name of names) {
      expect(tok(`y = ${name}(x)`)[2]).toEqual(['function', name]);
    }
    expect(texts('J = np.linalg.det(A) + np.trace(B @ C)', 'function')).toEqual([
      'np.linalg.det',
      'np.trace'
    ]);
  });

  it('keeps the prime of a derivative with the function', () => {
    expect(tok("g = relu'(z) ⊙ δ")).toEqual([
      ['defTarget', 'g'],
      ['operator', '='],
      ['function', "relu'"],
      ['punctuation', '('],
      ['name', 'z'],
      ['punctuation', ')'],
      ['operator', '⊙'],
      ['name', 'δ']
    ]);
    expect(texts("h = σ'(a)", 'function')).toEqual(["σ'"]);
  });

  it('does not take a name that starts like a function for one', () => {
    expect(texts('y = expected + logit', 'function')).toEqual([]);
    expect(texts('y = expected + logit', 'name')).toEqual(['expected', 'logit']);
  });
});

describe('requests', () => {
  it('marks ∂J/∂W', () => {
    expect(tok('∂J/∂W')).toEqual([['request', '∂J/∂W']]);
  });

  it('marks dJ/dW, dJ/db', () => {
    expect(tok('dJ/dW, dJ/db')).toEqual([
      ['request', 'dJ/dW'],
      ['punctuation', ','],
      ['request', 'dJ/db']
    ]);
  });

  it('marks ∂(x^T A x)/∂x around a tokenized expression', () => {
    expect(tok('∂(x^T A x)/∂x')).toEqual([
      ['request', '∂('],
      ['name', 'x'],
      ['operator', '^T'],
      ['name', 'A'],
      ['name', 'x'],
      ['request', ')/∂x']
    ]);
    expect(tok('∂(log(det(X)))/∂X')).toEqual([
      ['request', '∂('],
      ['function', 'log'],
      ['punctuation', '('],
      ['function', 'det'],
      ['punctuation', '('],
      ['name', 'X'],
      ['punctuation', ')'],
      ['punctuation', ')'],
      ['request', ')/∂X']
    ]);
  });

  it('marks hessian(J, x)', () => {
    expect(tok('hessian(J, x)')).toEqual([
      ['request', 'hessian'],
      ['punctuation', '('],
      ['name', 'J'],
      ['punctuation', ','],
      ['name', 'x'],
      ['punctuation', ')']
    ]);
    expect(texts('jacobian(z, W)', 'request')).toEqual(['jacobian']);
  });

  it('takes Unicode names in requests', () => {
    expect(tok('∂J/∂θ')).toEqual([['request', '∂J/∂θ']]);
    expect(tok('∂ŷ/∂z')).toEqual([['request', '∂ŷ/∂z']]);
  });

  it('does not take a plain d name or a division for a request', () => {
    expect(texts('y = d / e', 'request')).toEqual([]);
    expect(texts('y = dx + 1', 'request')).toEqual([]);
  });
});

describe('claims', () => {
  it('marks the claim keyword and the rest of the line', () => {
    expect(tok('claim ∂f/∂x = (A + A^T) x')).toEqual([
      ['claim', 'claim'],
      ['request', '∂f/∂x'],
      ['operator', '='],
      ['punctuation', '('],
      ['name', 'A'],
      ['operator', '+'],
      ['name', 'A'],
      ['operator', '^T'],
      ['punctuation', ')'],
      ['name', 'x']
    ]);
  });

  it('does not take claims or claimed for the keyword', () => {
    expect(texts('claims = 1', 'claim')).toEqual([]);
    expect(tok('claims = 1')[0]).toEqual(['defTarget', 'claims']);
  });
});

describe('numbers', () => {
  it('marks integers, decimals and exponents', () => {
    expect(texts('J = 0.5 * norm(r)^2 + 1e-3 * sum(W) + .25', 'number')).toEqual([
      '0.5',
      '2',
      '1e-3',
      '.25'
    ]);
  });
});

describe('whole cells', () => {
  it('tokenizes the starter cell line by line', () => {
    const lines = tokenizeCell('%%mderive\nx : n\nA : n x n\nf = x^T A x\n∂f/∂x');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toEqual([{ from: 0, to: 9, type: 'magic' }]);
    expect(lines[4]).toEqual([{ from: 0, to: 5, type: 'request' }]);
  });

  it('gives tokens in order, without overlaps, inside the line', () => {
    const samples = [
      '%%mderive --layout=denominator --steps # c',
      'W : m x n, symmetric',
      'x ∈ ℝ^{m×n}',
      'z = W x + b',
      "g = relu'(z) ⊙ (W^T δ) + np.linalg.inv(A) @ b",
      'claim ∂(x^T A x)/∂x = (A + A^T) x  # known',
      'dJ/dW, dJ/db; hessian(J, x)',
      'J = CE(y, softmax(U h + c))'
    ];
    for (const line of samples) {
      let last = 0;
      for (const t of tokenizeLine(line)) {
        expect(t.from).toBeGreaterThanOrEqual(last);
        expect(t.to).toBeGreaterThan(t.from);
        expect(t.to).toBeLessThanOrEqual(line.length);
        expect(line.slice(t.from, t.to).trim()).toBe(line.slice(t.from, t.to));
        last = t.to;
      }
    }
  });

  it('covers every token type on the sample lines', () => {
    const seen = new Set<TokenType>();
    const cell = [
      '%%mderive --layout=denominator',
      '# a two-layer network',
      'x : n',
      'W : m x n, symmetric',
      'c : scalar',
      'z = W x + 1',
      "h = relu'(z)",
      'dJ/dW',
      'claim ∂f/∂x = 2 x'
    ].join('\n');
    for (const line of cell.split('\n')) {
      for (const t of tokenizeLine(line)) {
        seen.add(t.type);
      }
    }
    expect([...seen].sort()).toEqual([...TOKEN_TYPES].sort());
  });
});

describe('tokenClass', () => {
  it('gives mcm- kebab-case classes', () => {
    expect(tokenClass('declName')).toBe('mcm-decl-name');
    expect(tokenClass('sizeSep')).toBe('mcm-size-sep');
    expect(tokenClass('magic')).toBe('mcm-magic');
    expect(new Set(TOKEN_TYPES.map(tokenClass)).size).toBe(TOKEN_TYPES.length);
  });
});
