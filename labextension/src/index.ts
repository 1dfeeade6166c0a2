/**
 * JupyterLab extension of matcalc_magic: one plugin per feature.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { commandsPlugin } from './commands';
import { copyLatexPlugin } from './copylatex';
import { derivationPlugin } from './derivation';
import { highlightPlugin } from './highlight';

const plugins: JupyterFrontEndPlugin<any>[] = [
  highlightPlugin,
  commandsPlugin,
  copyLatexPlugin,
  derivationPlugin
];

export default plugins;
