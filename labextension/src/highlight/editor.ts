/**
 * CodeMirror extensions that switch a cell to the `%%mderive` language.
 *
 * Every editor gets a compartment that is empty, except while the editor's
 * first line starts with `%%mderive`: then it holds the mderive language at
 * the highest precedence, which overrides the editor's own language (Python
 * in a notebook).  The editor's own language is never touched, so every
 * other cell keeps it.
 *
 * The compartment is set
 *   - when the editor is created, from the cell's source;
 *   - in the same transaction as any edit that changes the first line's
 *     verdict (a transaction extender), so typing `%%mderive` switches live;
 *   - after load, by a view plugin that reconciles the compartment with the
 *     document whenever they disagree (content that arrives after the
 *     editor was created, e.g. from the shared model, or a reconfiguration
 *     by JupyterLab).
 *
 * `%mderive ...` one-liners in Python cells are highlighted by decorations
 * instead, as the rest of such a cell stays Python.
 */
import { language } from '@codemirror/language';
import {
  Compartment,
  EditorState,
  Extension,
  Prec,
  Range,
  Text
} from '@codemirror/state';
import {
  Decoration,
  DecorationSet,
  EditorView,
  PluginValue,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

import { mderiveSupport } from './language';
import {
  isLineMagic,
  isMderiveCell,
  tokenClass,
  tokenizeLine
} from './tokenizer';

/** Class set on `.cm-editor` while it shows a `%%mderive` cell. */
export const MDERIVE_EDITOR_CLASS = 'mcm-mderive-editor';

/** Class set on the line of a `%mderive` one-liner. */
export const LINE_MAGIC_CLASS = 'mcm-line-magic';

/** Holds the language while the editor shows a `%%mderive` cell. */
export const mderiveCompartment = new Compartment();

/** The compartment's content for `%%mderive` cells. */
const MAGIC_CELL: Extension = [
  Prec.highest(mderiveSupport),
  EditorView.editorAttributes.of({ class: MDERIVE_EDITOR_CLASS })
];
/** The compartment's content for every other cell. */
const OTHER_CELL: Extension = [];

function docIsMagic(doc: Text): boolean {
  return doc.lines > 0 && isMderiveCell(doc.line(1).text);
}

/** Whether the compartment currently holds the mderive language. */
export function mderiveActive(state: EditorState): boolean {
  return mderiveCompartment.get(state) === MAGIC_CELL;
}

function contentFor(magic: boolean): Extension {
  return magic ? MAGIC_CELL : OTHER_CELL;
}

/** Switch on edits, in the edit's own transaction. */
const switchOnEdit = EditorState.transactionExtender.of(tr => {
  if (!tr.docChanged) {
    return null;
  }
  const magic = docIsMagic(tr.newDoc);
  if (magic === mderiveActive(tr.startState)) {
    return null;
  }
  return { effects: mderiveCompartment.reconfigure(contentFor(magic)) };
});

/** Reconcile the compartment with the document after load. */
const reconcile = ViewPlugin.fromClass(
  class implements PluginValue {
    private pending = false;
    private destroyed = false;

    constructor(view: EditorView) {
      this.check(view);
    }

    update(update: ViewUpdate): void {
      if (
        update.docChanged ||
        update.transactions.some(tr => tr.reconfigured)
      ) {
        this.check(update.view);
      }
    }

    destroy(): void {
      this.destroyed = true;
    }

    private check(view: EditorView): void {
      if (this.pending || !this.mismatch(view)) {
        return;
      }
      // A view may not be updated from inside an update: defer.
      this.pending = true;
      Promise.resolve().then(() => {
        this.pending = false;
        if (!this.destroyed && this.mismatch(view)) {
          view.dispatch({
            effects: mderiveCompartment.reconfigure(
              contentFor(docIsMagic(view.state.doc))
            )
          });
        }
      });
    }

    private mismatch(view: EditorView): boolean {
      return (
        mderiveCompartment.get(view.state) !== undefined &&
        docIsMagic(view.state.doc) !== mderiveActive(view.state)
      );
    }
  }
);

function isPythonEditor(state: EditorState): boolean {
  const lang = state.facet(language);
  return lang !== null && /python/i.test(lang.name);
}

function lineMagicDecorations(view: EditorView): DecorationSet {
  const state = view.state;
  if (mderiveActive(state) || !isPythonEditor(state)) {
    return Decoration.none;
  }
  const ranges: Range<Decoration>[] = [];
  for (const { from, to } of view.visibleRanges) {
    let pos = from;
    while (pos <= to) {
      const line = state.doc.lineAt(pos);
      if (isLineMagic(line.text)) {
        ranges.push(
          Decoration.line({ class: LINE_MAGIC_CLASS }).range(line.from)
        );
        for (const tok of tokenizeLine(line.text)) {
          ranges.push(
            Decoration.mark({
              class: 'mcm-tok ' + tokenClass(tok.type)
            }).range(line.from + tok.from, line.from + tok.to)
          );
        }
      }
      pos = line.to + 1;
    }
  }
  return Decoration.set(ranges, true);
}

/** Highlights `%mderive ...` lines inside Python cells. */
const lineMagicHighlighter = ViewPlugin.fromClass(
  class implements PluginValue {
    decorations: DecorationSet;

    constructor(view: EditorView) {
      this.decorations = lineMagicDecorations(view);
    }

    update(update: ViewUpdate): void {
      if (
        update.docChanged ||
        update.viewportChanged ||
        update.transactions.some(tr => tr.reconfigured)
      ) {
        this.decorations = lineMagicDecorations(update.view);
      }
    }
  },
  { decorations: v => v.decorations }
);

/**
 * The whole editor extension.
 *
 * @param initialSource The cell's source when the editor is created.
 */
export function mderiveEditorExtension(initialSource: string): Extension {
  return [
    mderiveCompartment.of(contentFor(isMderiveCell(initialSource))),
    switchOnEdit,
    reconcile,
    lineMagicHighlighter
  ];
}
