/**
 * What the analysis says about each cell, shown in the notebook: a coloured badge with the
 * step a code cell belongs to (or its part: parameters, metrics, prelude, skipped), and each
 * diagnostic under its cell with its line; clicking one puts the cursor on that line.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { markLines } from './lines';
import type { Analysis, CellOut, Diagnostic } from './model';

const BADGE = 'nbkf-CellBadge';
const DIAGNOSTICS = 'nbkf-CellDiagnostics';

/** Step colours: distinct, and dark enough for white text. */
const PALETTE = ['#1f5f99', '#b3261e', '#1e7b34', '#7b4fa6', '#8c564b', '#b0407f', '#0f7c8c', '#c25e00', '#5f6368', '#8a6d00'];

/** A step's colour: by its place in the plan, the same in the badges and the panel. */
export function stepColour(analysis: Analysis, name: string): string {
  const index = analysis.plan.steps.findIndex(s => s.name === name);
  return index < 0 ? PALETTE[PALETTE.length - 2] : PALETTE[index % PALETTE.length];
}

/** How a diagnostic's place reads: `line 3, column 5`. */
export function where(d: Diagnostic): string {
  if (!d.range) {
    return d.cell ? `cell ${d.cell}` : 'notebook';
  }
  if (d.notebook) {
    return `line ${d.range.start_line}, column ${d.range.start_column} of ${d.notebook}`;
  }
  return `line ${d.range.start_line}, column ${d.range.start_column}`;
}

/** Moves to a cell (1-based) and, when given, to a line and column in it. */
export function revealCell(panel: NotebookPanel, cell: number, line?: number, column?: number): void {
  const notebook = panel.content;
  const index = cell - 1;
  const widget = notebook.widgets[index];
  if (!widget) {
    return;
  }
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  void notebook.scrollToItem(index, 'center').then(() => {
    if (line !== undefined && widget.editor) {
      const lines = widget.model.sharedModel.getSource().split('\n').length;
      widget.editor.setCursorPosition({
        line: Math.min(Math.max(line - 1, 0), lines - 1),
        column: Math.max((column || 1) - 1, 0)
      });
      widget.editor.focus();
      notebook.mode = 'edit';
    }
  });
}

/** The analysis's entry for a cell widget, matched by position and, when known, by id. */
function entryOf(analysis: Analysis, index: number, cell: Cell): CellOut | undefined {
  const entry = analysis.cells[index];
  if (!entry || (entry.cell_id && entry.cell_id !== cell.model.id)) {
    return undefined;
  }
  return entry;
}

function badgeOf(analysis: Analysis, entry: CellOut): { text: string; title: string; colour?: string } | null {
  switch (entry.role) {
    case 'step':
      return {
        text: entry.step || '',
        title: `nbkf: this cell runs in step ${entry.step}`,
        colour: stepColour(analysis, entry.step || '')
      };
    case 'parameters':
      return { text: 'parameters', title: 'nbkf: the pipeline parameters (given to every step that reads them)' };
    case 'metrics':
      return { text: 'metrics', title: 'nbkf: the pipeline metrics' };
    case 'prelude':
      return { text: 'every step', title: 'nbkf: imports and functions, run at the start of every step' };
    case 'skipped':
      return { text: 'skipped', title: 'nbkf: not part of the pipeline' };
    case 'notebook':
      return { text: 'sub-pipeline', title: 'nbkf: runs another notebook as a sub-pipeline (its steps are in the panel)' };
    default:
      return null;
  }
}

/** Removes everything nbkf added to a notebook's cells. */
export function clearCells(panel: NotebookPanel): void {
  for (const cell of panel.content.widgets) {
    markLines(cell, []);
    cell.node.querySelectorAll(`.${BADGE}, .${DIAGNOSTICS}`).forEach(e => e.remove());
    cell.node.classList.remove('nbkf-mod-error', 'nbkf-mod-warning');
  }
}

/** Shows the analysis on the notebook's cells (replacing what was shown before). */
export function decorateCells(panel: NotebookPanel, analysis: Analysis): void {
  clearCells(panel);
  const byCell = new Map<number, Diagnostic[]>();
  for (const d of analysis.diagnostics) {
    // A cell of another notebook (one a `notebook:` cell runs) is not in this one.
    if (d.cell && !d.notebook) {
      byCell.set(d.cell, [...(byCell.get(d.cell) || []), d]);
    }
  }
  panel.content.widgets.forEach((cell, index) => {
    const entry = entryOf(analysis, index, cell);
    if (!entry) {
      return;
    }
    const input = cell.node.querySelector('.jp-Cell-inputWrapper');
    const badge = entry.kind === 'code' ? badgeOf(analysis, entry) : null;
    if (badge && input) {
      const el = document.createElement('div');
      el.className = `${BADGE} nbkf-role-${entry.role}`;
      el.dataset.step = entry.step || '';
      el.dataset.role = entry.role;
      el.title = badge.title;
      if (badge.colour) {
        el.style.setProperty('--nbkf-step-colour', badge.colour);
      }
      el.textContent = badge.text;
      cell.node.insertBefore(el, input);
    }
    const found = byCell.get(entry.cell);
    if (entry.kind === 'code') {
      markLines(cell, found || []);
    }
    if (!found || !input) {
      return;
    }
    cell.node.classList.add(found.some(d => d.severity === 'error') ? 'nbkf-mod-error' : 'nbkf-mod-warning');
    const box = document.createElement('ul');
    box.className = DIAGNOSTICS;
    box.setAttribute('aria-label', 'nbkf diagnostics');
    for (const d of found) {
      const item = document.createElement('li');
      item.className = `nbkf-Diagnostic nbkf-mod-${d.severity}`;
      item.dataset.code = d.code;
      if (d.range) {
        item.dataset.line = String(d.range.start_line);
      }
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'nbkf-DiagnosticWhere';
      button.textContent = where(d);
      button.title = 'Put the cursor there';
      button.addEventListener('click', () =>
        revealCell(panel, entry.cell, d.range?.start_line, d.range?.start_column)
      );
      const text = document.createElement('span');
      text.className = 'nbkf-DiagnosticText';
      text.textContent = `${d.severity} ${d.code}: ${d.message}`;
      item.append(button, ' ', text);
      if (d.hint) {
        const hint = document.createElement('div');
        hint.className = 'nbkf-Hint';
        hint.textContent = `hint: ${d.hint}`;
        item.append(hint);
      }
      box.append(item);
    }
    input.after(box);
  });
}
