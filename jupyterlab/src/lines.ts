/**
 * Diagnostics on the lines they are about: a CodeMirror extension, injected once into each
 * cell editor, that marks lines (`nbkf-Line nbkf-mod-error|warning`, with the message as a
 * tooltip). The marks move with edits until the next analysis replaces them.
 */
import { StateEffect, StateField, type Range } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view';
import type { Cell } from '@jupyterlab/cells';
import type { CodeMirrorEditor } from '@jupyterlab/codemirror';

import type { Diagnostic } from './model';

/** A mark in a cell: 1-based lines and columns (in characters), severity, what to say. */
export interface LineMark {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: 'error' | 'warning';
  message: string;
}

const setMarks = StateEffect.define<LineMark[]>();

const marks = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, transaction) {
    let next = value.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (effect.is(setMarks)) {
        const doc = transaction.state.doc;
        const ranges: Range<Decoration>[] = [];
        const seen = new Set<number>();
        // Errors first, so a line with both is marked as an error.
        const sorted = [...effect.value].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
        for (const mark of sorted) {
          if (mark.line < 1 || mark.line > doc.lines) {
            continue;
          }
          // The code itself: underlined from the start to the end of the range.
          const start = doc.line(mark.line);
          const from = Math.min(start.from + Math.max(mark.column - 1, 0), start.to);
          const endLine = doc.line(Math.min(Math.max(mark.endLine, mark.line), doc.lines));
          const to = Math.min(endLine.from + Math.max(mark.endColumn - 1, 0), endLine.to);
          if (to > from) {
            ranges.push(Decoration.mark({ class: `nbkf-Range nbkf-mod-${mark.severity}` }).range(from, to));
          }
          if (seen.has(mark.line)) {
            continue;
          }
          seen.add(mark.line);
          ranges.push(
            Decoration.line({
              class: `nbkf-Line nbkf-mod-${mark.severity}`,
              attributes: { title: `nbkf: ${mark.message}`, 'data-nbkf-line': String(mark.line) }
            }).range(doc.line(mark.line).from)
          );
        }
        next = Decoration.set(ranges, true);
      }
    }
    return next;
  },
  provide: field => EditorView.decorations.from(field)
});

const injected = new WeakSet<EditorView>();

/** Shows these diagnostics (of one cell) on its editor's lines; none clears them. */
export function markLines(cell: Cell, diagnostics: Diagnostic[]): void {
  const editor = cell.editor as CodeMirrorEditor | null;
  const view = editor && (editor as CodeMirrorEditor).editor;
  if (!editor || !view || typeof editor.injectExtension !== 'function') {
    return;
  }
  if (!injected.has(view)) {
    if (!diagnostics.length) {
      return;
    }
    editor.injectExtension(marks);
    injected.add(view);
  }
  const list: LineMark[] = diagnostics
    .filter(d => d.range)
    .map(d => ({
      line: d.range!.start_line,
      column: d.range!.start_column,
      endLine: d.range!.end_line,
      endColumn: d.range!.end_column,
      severity: d.severity,
      message: `${d.code}: ${d.message}`
    }));
  view.dispatch({ effects: setMarks.of(list) });
}
