import {
  DERIVATION_MIME,
  IPayload,
  concreteShape,
  evaluateDim,
  isPayload,
  outputData
} from '../src/derivation/payload';

// (n + 1) and m n as the Python side writes them
const N_PLUS_1: [number, { [s: string]: number }][] = [
  [1, { n: 1 }],
  [1, {}]
];
const M_N: [number, { [s: string]: number }][] = [[1, { m: 1, n: 1 }]];

function payload(): IPayload {
  return {
    version: 1,
    layout: 'shape',
    layouts: [
      { name: 'numerator', label: 'numerator', description: 'numerator layout' },
      { name: 'shape', label: 'shape (CS224n)', description: 'shape convention' }
    ],
    views: {
      numerator: { 'text/plain': 'W', 'text/html': '<p>W</p>', 'text/latex': '$$W$$' },
      shape: { 'text/plain': 'Wᵀ', 'text/html': '<p>Wᵀ</p>', 'text/latex': '$$W^T$$' }
    },
    sizes: [
      { name: 'm', value: 3 },
      { name: 'n', value: 4 }
    ],
    symbols: [],
    results: []
  };
}

describe('sizes', () => {
  it('evaluates size polynomials', () => {
    expect(evaluateDim(N_PLUS_1, { n: 4 })).toBe(5);
    expect(evaluateDim(M_N, { m: 3, n: 4 })).toBe(12);
    expect(evaluateDim([[0.5, { n: 1 }]], { n: 4 })).toBe(2);
  });

  it('refuses what is not a size', () => {
    expect(evaluateDim([[0.5, { n: 1 }]], { n: 3 })).toBeNull();
    expect(evaluateDim([[1, { n: 1 }], [-1, {}]], { n: 1 })).toBeNull();
    expect(evaluateDim(M_N, { m: 3 })).toBeNull();
  });

  it('writes concrete shapes', () => {
    expect(concreteShape([M_N, N_PLUS_1], { m: 3, n: 4 })).toBe('12×5');
    expect(concreteShape([], {})).toBe('1×1');
    expect(concreteShape(null, { n: 2 })).toBe('—');
    expect(concreteShape([M_N, [[1, {}]]], { n: 2 })).toBe('—');
  });
});

describe('output data of a layout', () => {
  it('is that layout’s static bundle and the payload remembering it', () => {
    const p = payload();
    const data = outputData(p, 'numerator');
    expect(data['text/plain']).toBe('W');
    expect(data['text/html']).toBe('<p>W</p>');
    expect((data[DERIVATION_MIME] as any).layout).toBe('numerator');
    expect(p.layout).toBe('shape'); // the original is left alone
  });

  it('drops a mime type the layout does not have', () => {
    const p = payload();
    delete p.views.numerator['text/html'];
    expect('text/html' in outputData(p, 'numerator')).toBe(false);
  });

  it('refuses an unknown layout', () => {
    expect(() => outputData(payload(), 'sideways')).toThrow('unknown layout');
  });

  it('recognises a payload', () => {
    expect(isPayload(payload())).toBe(true);
    expect(isPayload({ ...payload(), version: 2 })).toBe(false);
    expect(isPayload({ ...payload(), layout: 'vec' })).toBe(false);
    expect(isPayload(null)).toBe(false);
  });
});
