/**
 * The data of `application/vnd.matcalc.derivation+json`, as the Python side
 * writes it (matcalc_magic/payload.py), and the pure helpers the renderer
 * needs: concrete sizes at a slider setting, and the output data of a layout.
 */
import type { PartialJSONObject } from '@lumino/coreutils';

/** Every layout of a derivation as data (see matcalc_magic/payload.py). */
export const DERIVATION_MIME = 'application/vnd.matcalc.derivation+json';
/** Marks the output of the live ipywidget beside a derivation. */
export const WIDGET_MIME = 'application/vnd.matcalc.widget+json';

/** One term of a size polynomial: coefficient and power of each size symbol. */
export type Monomial = [number, { [symbol: string]: number }];
/** A size (a polynomial in the size symbols), one per axis of a shape. */
export type Dims = Monomial[][] | null;

export interface IRow {
  latex: string;
  kind: string;
  shape: string;
  dims: Dims;
}

export interface ILayoutInfo {
  name: string;
  label: string;
  description: string;
}

export interface IResult {
  request: string;
  badge: { ok: boolean | null; text: string };
  terms: { [layout: string]: IRow[] };
}

export interface IPayload {
  version: number;
  layout: string;
  layouts: ILayoutInfo[];
  views: { [layout: string]: { [mime: string]: string } };
  sizes: { name: string; value: number }[];
  symbols: IRow[];
  results: IResult[];
}

/** Size symbol -> value. */
export type Sizes = { [symbol: string]: number };

/** The value of one size polynomial, or null when it is not a positive integer. */
export function evaluateDim(dim: Monomial[], sizes: Sizes): number | null {
  let total = 0;
  for (const [coefficient, powers] of dim) {
    let term = coefficient;
    for (const [symbol, power] of Object.entries(powers)) {
      const value = sizes[symbol];
      if (value === undefined) {
        return null;
      }
      term *= Math.pow(value, power);
    }
    total += term;
  }
  const rounded = Math.round(total);
  return Math.abs(total - rounded) < 1e-9 && rounded >= 1 ? rounded : null;
}

/** `4×3` at `sizes`, `1×1` for a scalar, or `—` when a size is unknown. */
export function concreteShape(dims: Dims, sizes: Sizes): string {
  if (dims === null) {
    return '—';
  }
  if (dims.length === 0) {
    return '1×1';
  }
  const values = dims.map(d => evaluateDim(d, sizes));
  return values.every(v => v !== null) ? values.join('×') : '—';
}

/** The payload in another layout (unknown layouts are refused). */
export function withLayout(payload: IPayload, layout: string): IPayload {
  if (!(layout in payload.views)) {
    throw new Error(`unknown layout ${layout}`);
  }
  return { ...payload, layout };
}

/**
 * The output data that shows `layout`: that layout's static bundle (so an
 * export or a front end without this extension shows the layout last
 * chosen) and the payload, remembering the layout.
 */
export function outputData(payload: IPayload, layout: string): PartialJSONObject {
  const next = withLayout(payload, layout);
  return {
    ...next.views[layout],
    [DERIVATION_MIME]: next as unknown as PartialJSONObject
  };
}

/** Whether `data` looks like a payload this version can render. */
export function isPayload(data: unknown): data is IPayload {
  const p = data as IPayload;
  return (
    !!p &&
    typeof p === 'object' &&
    p.version === 1 &&
    typeof p.layout === 'string' &&
    !!p.views &&
    p.layout in p.views &&
    Array.isArray(p.layouts) &&
    Array.isArray(p.results)
  );
}
