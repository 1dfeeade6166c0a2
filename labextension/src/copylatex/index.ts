/**
 * Plugin: "Copy LaTeX" on a derivation's output.
 *
 * The magic's HTML output holds `<div class="mcm-derivation"
 * data-latex="...">` per result (and `<div class="mcm-claim"
 * data-latex="...">` per checked claim); the command copies that
 * attribute's text.  It is in the context menu of such elements
 * (schema/copylatex.json), and a small copy button appears on them while
 * the pointer is over them.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import { copyIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

/** Command ids. */
export namespace CommandIDs {
  export const copyLatex = 'matcalc-magic:copy-latex';
}

/** Class of a derivation's output element. */
export const DERIVATION_CLASS = 'mcm-derivation';

/**
 * Elements whose LaTeX can be copied: derivation results, and claims in
 * outputs (`mcm-claim` is also an editor token class, hence the scope).
 */
export const COPYABLE_SELECTOR = [
  `.${DERIVATION_CLASS}[data-latex]`,
  '.jp-OutputArea-output .mcm-claim[data-latex]'
].join(', ');

/** Class of the copy button shown on hover. */
export const COPY_BUTTON_CLASS = 'mcm-copy-latex';

/** The copyable element at or around `node`, or null. */
export function copyableOf(node: Element | null | undefined): Element | null {
  return node?.closest?.(COPYABLE_SELECTOR) ?? null;
}

/** The LaTeX held by the copyable element at or around `node`, or null. */
export function latexOf(node: Element | null | undefined): string | null {
  const el = copyableOf(node);
  return el ? el.getAttribute('data-latex') : null;
}

/** Put `text` on the system clipboard. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No permission or no async clipboard (e.g. plain http): the
    // execCommand path, which works inside a user gesture.
    Clipboard.copyToSystem(text);
  }
}

async function copyAndNotify(latex: string): Promise<void> {
  await copyText(latex);
  Notification.success('LaTeX copied to the clipboard', { autoClose: 2000 });
}

function addCopyButton(target: Element): void {
  if (target.querySelector(':scope > .' + COPY_BUTTON_CLASS)) {
    return;
  }
  const button = document.createElement('button');
  button.className = COPY_BUTTON_CLASS;
  button.type = 'button';
  button.title = 'Copy LaTeX';
  button.setAttribute('aria-label', 'Copy LaTeX');
  copyIcon.element({ container: button, tag: 'span' });
  button.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    const latex = latexOf(target);
    if (latex !== null) {
      void copyAndNotify(latex).then(() => {
        button.classList.add('mcm-copied');
        window.setTimeout(() => button.classList.remove('mcm-copied'), 1500);
      });
    }
  });
  target.appendChild(button);
}

export const copyLatexPlugin: JupyterFrontEndPlugin<void> = {
  id: 'matcalc-magic:copylatex',
  description: 'Adds "Copy LaTeX" to derivation outputs.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const target = (): HTMLElement | undefined =>
      app.contextMenuHitTest(node => node.matches?.(COPYABLE_SELECTOR) ?? false);

    app.commands.addCommand(CommandIDs.copyLatex, {
      label: 'Copy LaTeX',
      caption: "Copy this result's LaTeX source to the clipboard",
      icon: copyIcon,
      isEnabled: (args: ReadonlyPartialJSONObject) =>
        typeof args['latex'] === 'string' || latexOf(target()) !== null,
      execute: async (args: ReadonlyPartialJSONObject) => {
        const latex =
          typeof args['latex'] === 'string'
            ? args['latex']
            : latexOf(target());
        if (latex !== null) {
          await copyAndNotify(latex);
        }
      }
    });

    // The hover button, added lazily to a copyable element under the
    // pointer.
    document.addEventListener('mouseover', event => {
      const el = copyableOf(event.target as Element | null);
      if (el) {
        addCopyButton(el);
      }
    });
  }
};

export default copyLatexPlugin;
