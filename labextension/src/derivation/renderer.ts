/**
 * The renderer of a derivation's layouts: a toggle, the results, and a
 * dimension panel with size sliders, all from the output's own data, so
 * they work in a saved notebook with no kernel running.
 *
 * The results are the static HTML the magic made for each layout (through
 * JupyterLab's sanitizer when the notebook is not trusted; classes styled by
 * this extension's CSS keep their colours).  Choosing a layout rewrites the
 * output's data to that layout's bundle, so the notebook saves — and
 * nbconvert, GitHub or a front end without this extension show — the layout
 * last chosen.
 */
import { renderHTML } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import {
  DERIVATION_MIME,
  IPayload,
  IRow,
  Sizes,
  concreteShape,
  isPayload,
  outputData
} from './payload';

/** Class of the renderer's node. */
export const RENDERER_CLASS = 'mcm-live';

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A table of symbols or sub-terms: math, kind, shape, shape at the sizes. */
function rowsTable(className: string, head: string, rows: IRow[]): HTMLTableElement {
  const table = element('table', `mcm-live-table ${className}`);
  const header = table.createTHead().insertRow();
  for (const title of [head, '', 'shape', 'at these sizes']) {
    header.appendChild(element('th', undefined, title));
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.appendChild(element('td', 'mcm-live-math', `$${row.latex}$`));
    tr.appendChild(element('td', 'mcm-live-kind', row.kind));
    tr.appendChild(element('td', 'mcm-sym-shape', row.shape));
    tr.appendChild(element('td', 'mcm-concrete-shape'));
  }
  return table;
}

export class DerivationRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._options = options;
    this.addClass(RENDERER_CLASS);
    this._toolbar = element('div', 'mcm-live-toolbar');
    this._toolbar.setAttribute('role', 'group');
    this._toolbar.setAttribute('aria-label', 'layout');
    this._body = element('div', 'mcm-live-body');
    this._dims = element('details', 'mcm-live-dims');
    this._dims.open = true;
    this.node.append(this._toolbar, this._body, this._dims);
  }

  /** The layout shown. */
  get shownLayout(): string | null {
    return this._payload?.layout ?? null;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._model = model;
    const data = model.data[DERIVATION_MIME];
    if (!isPayload(data)) {
      this.node.textContent =
        'This derivation was saved by another version of matcalc_magic; run the cell again.';
      return;
    }
    const sameCell =
      this._payload !== null &&
      JSON.stringify(this._payload.views) === JSON.stringify(data.views);
    if (sameCell && this._payload!.layout === data.layout && this._trusted === model.trusted) {
      return; // our own data change echoed back
    }
    this._trusted = model.trusted;
    if (!sameCell) {
      this._payload = data;
      this._sizes = Object.fromEntries(data.sizes.map(s => [s.name, s.value]));
      this._buildToolbar();
      await this._buildDims();
    }
    await this._show(data.layout);
  }

  /** Show `layout` and make the output's data say so. */
  async choose(layout: string): Promise<void> {
    if (!this._payload || layout === this._payload.layout) {
      return;
    }
    await this._show(layout);
    this._model?.setData({
      data: outputData(this._payload, layout),
      metadata: this._model.metadata
    });
  }

  private async _show(layout: string): Promise<void> {
    const payload = { ...this._payload!, layout };
    this._payload = payload;
    for (const button of Array.from(this._toolbar.querySelectorAll('button'))) {
      const on = button.dataset.layout === layout;
      button.setAttribute('aria-pressed', String(on));
      button.classList.toggle('mcm-active', on);
    }
    const view = payload.views[layout];
    const html = view['text/html'];
    this._body.textContent = '';
    const host = element('div', 'mcm-live-view');
    this._body.appendChild(host);
    if (html !== undefined) {
      await renderHTML({
        host,
        source: html,
        trusted: this._trusted,
        sanitizer: this._options.sanitizer,
        resolver: this._options.resolver,
        linkHandler: this._options.linkHandler,
        shouldTypeset: this.isAttached,
        latexTypesetter: this._options.latexTypesetter
      });
    } else {
      // a bundle made without HTML (the magic's html = False): its LaTeX
      host.appendChild(element('div', 'mcm-live-latex', view['text/latex'] ?? ''));
      if (this.isAttached) {
        await this._options.latexTypesetter?.typeset(host);
      }
    }
    await this._renderTerms();
  }

  protected onAfterAttach(): void {
    // MathJax measures the page: typeset once the node is in it
    void this._options.latexTypesetter?.typeset(this.node);
  }

  private _buildToolbar(): void {
    const payload = this._payload!;
    this._toolbar.textContent = '';
    this._toolbar.appendChild(element('span', 'mcm-live-label', 'layout'));
    for (const info of payload.layouts) {
      const button = element('button', 'mcm-layout-button', info.label);
      button.type = 'button';
      button.title = info.description;
      button.dataset.layout = info.name;
      button.addEventListener('click', () => void this.choose(info.name));
      this._toolbar.appendChild(button);
    }
  }

  private async _buildDims(): Promise<void> {
    const payload = this._payload!;
    this._dims.textContent = '';
    const summary = element('summary', undefined, 'Dimensions');
    summary.appendChild(
      element('span', 'mcm-live-note', ' symbolic, and at the sizes of the sliders')
    );
    this._dims.appendChild(summary);

    const sliders = element('div', 'mcm-live-sizes');
    for (const size of payload.sizes) {
      const label = element('label', 'mcm-live-size');
      const input = element('input');
      input.type = 'range';
      input.min = '1';
      input.max = String(Math.max(12, 2 * size.value));
      input.value = String(size.value);
      input.dataset.size = size.name;
      const shown = element('output', undefined, String(size.value));
      input.addEventListener('input', () => {
        this._sizes[size.name] = Number(input.value);
        shown.textContent = input.value;
        this._updateConcrete();
      });
      label.append(element('span', undefined, size.name), input, shown);
      sliders.appendChild(label);
    }
    this._dims.appendChild(rowsTable('mcm-symbols', 'symbol', payload.symbols));
    this._dims.appendChild(sliders);

    const pick = element('label', 'mcm-live-pick', 'sub-terms of ');
    this._select = element('select', 'mcm-live-result');
    payload.results.forEach((r, i) => {
      const option = element('option', undefined, r.request);
      option.value = String(i);
      this._select!.appendChild(option);
    });
    this._select.addEventListener('change', () => void this._renderTerms());
    pick.appendChild(this._select);
    this._terms = element('div', 'mcm-live-terms');
    if (payload.results.length) {
      this._dims.append(pick, this._terms);
    }
    this._updateConcrete();
    if (this.isAttached) {
      await this._options.latexTypesetter?.typeset(this._dims);
    }
  }

  private async _renderTerms(): Promise<void> {
    const payload = this._payload;
    if (!payload || !this._select || !this._terms || !payload.results.length) {
      return;
    }
    const result = payload.results[Number(this._select.value) || 0];
    const rows = result.terms[payload.layout] ?? [];
    this._terms.textContent = '';
    const status =
      result.badge.ok === null ? 'mcm-unchecked' : result.badge.ok ? 'mcm-ok' : 'mcm-failed';
    this._terms.appendChild(element('div', `mcm-badge ${status}`, result.badge.text));
    this._terms.appendChild(rowsTable('mcm-subterms', 'term', rows));
    if (rows.length === 1) {
      this._terms.appendChild(
        element('div', 'mcm-live-note', 'in this layout the result has no matrix sub-terms')
      );
    }
    this._updateConcrete();
    if (this.isAttached) {
      await this._options.latexTypesetter?.typeset(this._terms);
    }
  }

  /** The "at these sizes" column, from the sliders. */
  private _updateConcrete(): void {
    const payload = this._payload;
    if (!payload) {
      return;
    }
    const update = (table: Element | null | undefined, rows: IRow[]) => {
      const cells = table?.querySelectorAll('td.mcm-concrete-shape') ?? [];
      cells.forEach((cell, k) => {
        cell.textContent = concreteShape(rows[k]?.dims ?? null, this._sizes);
      });
    };
    update(this._dims.querySelector('table.mcm-symbols'), payload.symbols);
    if (this._select && payload.results.length) {
      const result = payload.results[Number(this._select.value) || 0];
      update(this._terms?.querySelector('table.mcm-subterms'), result.terms[payload.layout] ?? []);
    }
  }

  private _options: IRenderMime.IRendererOptions;
  private _model: IRenderMime.IMimeModel | null = null;
  private _payload: IPayload | null = null;
  private _trusted = false;
  private _sizes: Sizes = {};
  private _toolbar: HTMLDivElement;
  private _body: HTMLDivElement;
  private _dims: HTMLDetailsElement;
  private _select: HTMLSelectElement | null = null;
  private _terms: HTMLDivElement | null = null;
}

/**
 * The live widget's output: hidden, since this renderer already gives the
 * derivation a toggle and a dimension panel, and its model is gone once the
 * kernel is.
 */
export class WidgetPlaceholder extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('mcm-widget-placeholder');
  }

  renderModel(): Promise<void> {
    return Promise.resolve();
  }
}
