/**
 * Plugin: derivations that need no kernel.  Renders
 * `application/vnd.matcalc.derivation+json` (every layout of a `%%mderive`
 * output, as data) with a layout toggle and a dimension panel, in JupyterLab
 * and Notebook 7, live or in a saved notebook with no kernel; and hides the
 * output of the live ipywidget beside it (`application/vnd.matcalc.widget+json`),
 * which this renderer makes redundant and whose model dies with the kernel.
 *
 * Both renderers are safe: the derivation's HTML goes through JupyterLab's
 * sanitizer when the notebook is not trusted, so an untrusted notebook
 * shows the same derivation, colours included (the extension's CSS styles
 * the classes the sanitizer keeps).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { DERIVATION_MIME, WIDGET_MIME } from './payload';
import { DerivationRenderer, WidgetPlaceholder } from './renderer';

/** Preferred over text/html (rank 50), so the toggle shows where we are installed. */
export const DERIVATION_RANK = 40;
/** Preferred over the ipywidget view (rank -10), which this replaces. */
export const WIDGET_RANK = -20;

export const derivationPlugin: JupyterFrontEndPlugin<void> = {
  id: 'matcalc-magic:derivation',
  description: 'Renders derivations with a layout toggle that needs no kernel.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry): void => {
    rendermime.addFactory(
      {
        safe: true,
        mimeTypes: [DERIVATION_MIME],
        createRenderer: options => new DerivationRenderer(options)
      },
      DERIVATION_RANK
    );
    rendermime.addFactory(
      {
        safe: true,
        mimeTypes: [WIDGET_MIME],
        createRenderer: () => new WidgetPlaceholder()
      },
      WIDGET_RANK
    );
  }
};

export default derivationPlugin;
