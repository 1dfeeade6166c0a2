/**
 * JupyterLab extension of matcalc_magic: one plugin per feature.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { commandsPlugin } from './commands';
import { copyLatexPlugin } from './copylatex';
import { highlightPlugin } from './highlight';

const plugins: JupyterFrontEndPlugin<any>[] = [
  highlightPlugin,
  commandsPlugin,
  copyLatexPlugin
];

export default plugins;
