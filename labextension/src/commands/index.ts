/**
 * Plugin: the "Insert %%mderive cell" command, in the command palette, the
 * notebook toolbar and the notebook cell context menu (the last two are
 * declared in schema/commands.json).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, Notebook } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { mderiveIcon } from '../icons';

/** Command ids. */
export namespace CommandIDs {
  export const insertCell = 'matcalc-magic:insert-mderive-cell';
}

/** The starter derivation of a new `%%mderive` cell. */
export const STARTER_SOURCE = [
  '%%mderive',
  'x : n',
  'A : n x n',
  'f = x^T A x',
  '∂f/∂x'
].join('\n');

/**
 * Insert a code cell holding `source` below the active cell of `notebook`
 * and make it the active cell.
 *
 * @returns The new cell's index, or -1 without a notebook model.
 */
export function insertMderiveCell(
  notebook: Notebook,
  source: string = STARTER_SOURCE
): number {
  const model = notebook.model;
  if (!model) {
    return -1;
  }
  const index = model.cells.length === 0 ? 0 : notebook.activeCellIndex + 1;
  model.sharedModel.insertCell(index, {
    cell_type: 'code',
    source,
    metadata: {}
  });
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  const cell = notebook.widgets[index];
  if (cell) {
    void notebook.scrollToCell(cell);
  }
  return index;
}

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'matcalc-magic:commands',
  description: 'Adds the "Insert %%mderive cell" command.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null
  ): void => {
    app.commands.addCommand(CommandIDs.insertCell, {
      label: 'Insert %%mderive cell',
      caption: 'Insert a %%mderive matrix-calculus cell below the active cell',
      icon: mderiveIcon,
      isEnabled: () => tracker.currentWidget !== null,
      execute: (args: ReadonlyPartialJSONObject) => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return;
        }
        const source =
          typeof args['source'] === 'string' ? args['source'] : STARTER_SOURCE;
        insertMderiveCell(panel.content, source);
      }
    });
    palette?.addItem({
      command: CommandIDs.insertCell,
      category: 'Notebook Operations'
    });
  }
};

export default commandsPlugin;
