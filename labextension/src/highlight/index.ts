/**
 * Plugin: highlight the body of `%%mderive` cells and `%mderive` one-liners.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';

import { mderiveEditorExtension } from './editor';
import { mderiveSupport } from './language';

export { mderiveEditorExtension } from './editor';
export * from './tokenizer';

/** Registry name of the editor extension. */
export const EXTENSION_NAME = 'matcalc-magic:mderive-highlight';

export const highlightPlugin: JupyterFrontEndPlugin<void> = {
  id: 'matcalc-magic:highlight',
  description:
    'Highlights %%mderive cells (and %mderive one-liners) in code editors.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  optional: [IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    extensions: IEditorExtensionRegistry,
    languages: IEditorLanguageRegistry | null
  ): void => {
    extensions.addExtension({
      name: EXTENSION_NAME,
      factory: options =>
        EditorExtensionRegistry.createImmutableExtension(
          mderiveEditorExtension(options.model.sharedModel.getSource())
        )
    });
    // Also a language of its own, e.g. for ```mderive fences in Markdown.
    languages?.addLanguage({
      name: 'mderive',
      displayName: 'mderive (matrix calculus)',
      mime: 'text/x-mderive',
      extensions: ['mderive'],
      support: mderiveSupport
    });
  }
};

export default highlightPlugin;
