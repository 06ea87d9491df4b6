/**
 * The *Pipeline* side panel: what the active notebook becomes as a pipeline, kept up to date
 * while it is edited (the unsaved notebook is analysed inline, debounced), with the actions
 * Tag notebook, Compile, Run locally, Check and Submit, and the pipeline settings Kale keeps
 * in the notebook's metadata.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { api, followEvents, NbkfError } from './api';
import { clearCells, decorateCells, revealCell, stepColour, where } from './cells';
import { el } from './dom';
import type {
  Analysis,
  Comparison,
  Compiled,
  Diagnostic,
  Drawing,
  KaleSettings,
  RunStatus,
  Started,
  Step,
  Submitted,
  Tagged
} from './model';
import { ParametersForm } from './params';
import { readSettings, SettingsForm, writeSettings } from './settings';

/** How long the notebook must be left alone before it is analysed again. */
export const DEBOUNCE_MS = 500;

interface RunView {
  id: string;
  kind: 'run' | 'check';
  states: Record<string, string>;
  failures: Record<string, string>;
  logs: Record<string, string[]>;
  state: string;
  abort: AbortController;
}

interface TagUndo {
  panel: NotebookPanel;
  /** Each changed cell's id and its tags before. */
  before: { id: string; tags: string[] | undefined }[];
}

/** The notebook as nbkf reads it for analysis: outputs and counts left out. */
function forAnalysis(panel: NotebookPanel): any {
  const json = panel.content.model!.toJSON() as any;
  for (const cell of json.cells || []) {
    if (cell.cell_type === 'code') {
      cell.outputs = [];
      cell.execution_count = null;
    }
  }
  return json;
}

export class PipelinePanel extends Widget {
  private notebook: NotebookPanel | null = null;
  private analysis: Analysis | null = null;
  private timer = 0;
  private generation = 0;
  private lastKey = '';
  private pending: AbortController | null = null;
  private run: RunView | null = null;
  private undo: TagUndo | null = null;
  private settings: SettingsForm;
  private parameters = new ParametersForm();

  private title_ = el('div', { class: 'nbkf-Title' });
  private status = el('div', { class: 'nbkf-Status', role: 'status' });
  private message = el('div', { class: 'nbkf-Message', role: 'alert', hidden: true });
  private result = el('section', { class: 'nbkf-Result', hidden: true, 'aria-label': 'Result' });
  private graph = el('div', { class: 'nbkf-Graph', 'aria-label': 'Pipeline graph' });
  private steps = el('ul', { class: 'nbkf-Steps' });
  private diagnostics = el('ul', { class: 'nbkf-Diagnostics' });
  private diagnosticsCount = el('span', { class: 'nbkf-Count', text: '0' });
  private buttons: Record<string, HTMLButtonElement> = {};

  constructor() {
    super();
    this.id = 'nbkf-pipeline';
    this.addClass('nbkf-Panel');
    this.title.caption = 'Pipeline (nbkf)';
    const actions = el('div', { class: 'nbkf-Actions', role: 'toolbar', 'aria-label': 'Pipeline actions' });
    const add = (key: string, label: string, title: string, handler: () => void, cls = '') => {
      const b = el('button', { type: 'button', class: `nbkf-Button ${cls}`, text: label, title, 'data-action': key }) as HTMLButtonElement;
      b.addEventListener('click', handler);
      this.buttons[key] = b;
      actions.append(b);
    };
    add('tag', 'Tag notebook', 'Write the step tags nbkf suggests into the open notebook (undoable)', () => void this.tag());
    add('undo', 'Undo tags', 'Put back the tags the cells had before Tag notebook', () => this.undoTags());
    add('compile', 'Compile', 'Write the KFP pipeline YAML beside the notebook', () => void this.compile());
    add('compile-dsl', 'Python DSL', 'Write the pipeline as a KFP Python DSL script beside the notebook, to take it over in Python', () => void this.compile('dsl'));
    add('run', 'Run locally', 'Run the pipeline on this machine, step by step', () => void this.start('run'), 'nbkf-mod-primary');
    add('check', 'Check', 'Run the pipeline and the notebook and compare every value', () => void this.start('check'));
    add('submit', 'Submit', 'Send the pipeline to Kubeflow Pipelines and start a run', () => void this.submit());
    add('cancel', 'Cancel', 'Stop the local run', () => void this.cancel(), 'nbkf-mod-danger');
    this.buttons.undo.hidden = true;
    this.buttons.cancel.hidden = true;

    this.settings = new SettingsForm(values => this.saveSettings(values));

    this.node.append(
      el('header', { class: 'nbkf-Header' }, el('h2', { text: 'Pipeline' }), this.title_, this.status),
      actions,
      this.message,
      this.result,
      el('section', { class: 'nbkf-Section', 'aria-label': 'Graph' }, this.graph),
      this.parameters.node,
      el('section', { class: 'nbkf-Section', 'aria-label': 'Steps' }, el('h3', { text: 'Steps' }), this.steps),
      el('section', { class: 'nbkf-Section', 'aria-label': 'Diagnostics' },
        el('h3', {}, 'Diagnostics ', this.diagnosticsCount), this.diagnostics),
      this.settings.node
    );
    this.render();
  }

  /** The notebook shown (the active one), or none. */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.notebook) {
      return;
    }
    if (this.notebook && !this.notebook.isDisposed) {
      this.notebook.content.model?.contentChanged.disconnect(this.onChange, this);
      this.notebook.content.model?.metadataChanged.disconnect(this.onChange, this);
    }
    this.stopFollowing();
    this.notebook = panel;
    this.analysis = null;
    this.lastKey = '';
    this.pending?.abort();
    this.hideMessage();
    this.result.hidden = true;
    if (panel) {
      void panel.context.ready.then(() => {
        if (this.notebook !== panel || !panel.content.model) {
          return;
        }
        panel.content.model.contentChanged.connect(this.onChange, this);
        panel.content.model.metadataChanged.connect(this.onChange, this);
        panel.disposed.connect(() => {
          if (this.notebook === panel) {
            this.setNotebook(null);
          }
        });
        this.settings.show(readSettings(panel));
        this.schedule(0);
      });
    }
    this.render();
  }

  private onChange(): void {
    this.schedule(DEBOUNCE_MS);
  }

  /** Analyses the notebook after `delay` ms without changes. */
  schedule(delay: number = DEBOUNCE_MS): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.refresh(), delay);
  }

  /** Analyses the notebook as it is now (if it changed) and shows the result. */
  async refresh(force = false): Promise<void> {
    const panel = this.notebook;
    if (!panel || !panel.content.model) {
      return;
    }
    const notebook = forAnalysis(panel);
    const key = JSON.stringify(notebook);
    if (!force && key === this.lastKey) {
      return;
    }
    this.lastKey = key;
    const generation = ++this.generation;
    this.pending?.abort();
    const abort = (this.pending = new AbortController());
    const body = { path: panel.context.path, notebook };
    this.status.textContent = 'Analysing…';
    this.node.setAttribute('aria-busy', 'true');
    try {
      const analysis = await api<Analysis>('api/v1/analyze', body, { signal: abort.signal });
      let drawing: Drawing | null = null;
      if (analysis.plan.steps.length) {
        try {
          drawing = await api<Drawing>('api/v1/graph', { ...body, format: 'svg' }, { signal: abort.signal });
        } catch (e) {
          if (abort.signal.aborted) {
            return;
          }
          drawing = null;
        }
      }
      if (generation !== this.generation || this.notebook !== panel) {
        return;
      }
      this.analysis = analysis;
      this.hideMessage();
      this.drawGraph(drawing);
      decorateCells(panel, analysis);
    } catch (e) {
      if (abort.signal.aborted || generation !== this.generation) {
        return;
      }
      this.analysis = null;
      this.lastKey = '';
      clearCells(panel);
      this.showError(e);
      this.graph.replaceChildren(el('p', { class: 'nbkf-Empty', text: 'No drawing.' }));
    } finally {
      if (generation === this.generation) {
        this.node.removeAttribute('aria-busy');
        this.render();
      }
    }
  }

  // ---- rendering -------------------------------------------------------------------

  private render(): void {
    const panel = this.notebook;
    const a = this.analysis;
    this.title_.textContent = panel ? panel.context.path : 'Open a notebook to see its pipeline.';
    if (!panel) {
      this.status.textContent = '';
      this.graph.replaceChildren();
      this.steps.replaceChildren();
      this.renderDiagnostics([]);
      this.settings.show(null);
      this.parameters.show(null);
    } else if (a) {
      const n = a.plan.steps.length;
      const errors = a.diagnostics.filter(d => d.severity === 'error').length;
      this.status.textContent =
        `${a.plan.pipeline} · ${n} step${n === 1 ? '' : 's'} · ${a.plan.parameters.length} parameter` +
        `${a.plan.parameters.length === 1 ? '' : 's'}` +
        (errors ? ` · ${errors} error${errors === 1 ? '' : 's'}` : '');
      this.renderSteps(a);
      this.parameters.show(a.plan.parameters);
      this.renderDiagnostics(a.diagnostics);
      this.settings.effective(a.settings);
    }
    const running = !!(this.run && this.run.state === 'running');
    const ready = !!(a && a.ok && a.plan.steps.length);
    this.buttons.tag.disabled = !panel || !a || running;
    this.buttons.compile.disabled = !ready;
    this.buttons['compile-dsl'].disabled = !ready;
    this.buttons.run.disabled = !ready || running;
    this.buttons.check.disabled = !ready || running;
    this.buttons.submit.disabled = !ready || running;
    this.buttons.cancel.hidden = !running;
    this.buttons.undo.hidden = !(this.undo && this.undo.panel === panel);
  }

  /** Puts nbkf's SVG drawing (the one `nbkf graph` makes) in the panel. */
  private drawGraph(drawing: Drawing | null): void {
    if (!drawing) {
      this.graph.replaceChildren(el('p', { class: 'nbkf-Empty', text: 'No steps yet: tag cells with step:<name>, or use Tag notebook.' }));
      return;
    }
    const doc = new DOMParser().parseFromString(drawing.drawing, 'image/svg+xml');
    const svg = doc.documentElement;
    if (!svg || svg.nodeName !== 'svg') {
      this.graph.replaceChildren(el('p', { class: 'nbkf-Empty', text: 'The drawing could not be read.' }));
      return;
    }
    const node = document.importNode(svg, true) as unknown as SVGSVGElement;
    // Scripts and event attributes never come from nbkf, but a drawing is data: drop them.
    node.querySelectorAll('script, foreignObject').forEach(e => e.remove());
    node.removeAttribute('width');
    node.removeAttribute('height');
    node.setAttribute('role', 'img');
    node.setAttribute('aria-label', `pipeline ${drawing.pipeline}`);
    for (const g of Array.from(node.querySelectorAll('g.step'))) {
      g.addEventListener('click', () => this.showStep(g.getAttribute('data-task') || ''));
    }
    this.graph.replaceChildren(node);
    this.markProblems();
    this.applyStates();
  }

  private stepItem(a: Analysis, step: Step): HTMLElement {
    const state = this.run?.states[step.task];
    const readers = (v: string) =>
      a.plan.steps.filter(s => s.inputs.some(i => i.from === step.name && i.variable === v)).map(s => s.name);
    const list = (label: string, items: (string | Node)[][]) =>
      items.length
        ? el('div', { class: 'nbkf-StepRow' }, el('span', { class: 'nbkf-Label', text: label }),
            ...items.map(parts => el('span', { class: 'nbkf-Chip' }, ...parts)))
        : null;
    const cells = el('span', { class: 'nbkf-Cells' });
    if (step.notebook) {
      // Cells of another notebook: named, not links into this one.
      cells.append(`${step.cells.length === 1 ? 'cell' : 'cells'} ${step.cells.join(', ')} of ${step.notebook}`);
    }
    for (const n of step.notebook ? [] : step.cells) {
      const b = el('button', { type: 'button', class: 'nbkf-Link', text: `cell ${n}`, title: `Show cell ${n}` });
      b.addEventListener('click', () => this.notebook && revealCell(this.notebook, n));
      cells.append(b, ' ');
    }
    const failure = this.run?.failures[step.task];
    const logs = this.run?.logs[step.task];
    return el('li', { class: 'nbkf-Step', 'data-task': step.task, 'data-step': step.name },
      el('div', { class: 'nbkf-StepHead' },
        el('span', { class: 'nbkf-Dot', style: `background:${stepColour(a, step.name)}` }),
        el('strong', { class: 'nbkf-StepName', text: step.name }),
        step.finally ? el('span', { class: 'nbkf-Exit', text: 'exit step',
          title: 'Tagged finally: runs after all the other steps, also when one of them failed' }) : null,
        state ? el('span', { class: `nbkf-State nbkf-state-${state.replace('_', '-')}`, text: state.replace('_', ' ') }) : null),
      el('div', { class: 'nbkf-StepRow' }, el('span', { class: 'nbkf-Label', text: 'cells' }), cells),
      step.sub_pipeline ? el('div', { class: 'nbkf-StepRow nbkf-SubPipeline' }, el('span', { class: 'nbkf-Label', text: 'in' }),
        el('span', { text: `sub-pipeline ${step.sub_pipeline}` })) : null,
      list('inputs', step.inputs.map(i => [el('code', { text: i.variable }), ` from ${i.from}`])),
      list('outputs', step.outputs.map(o => {
        const to = readers(o);
        return [el('code', { text: o }), to.length ? ` to ${to.join(', ')}` : ''];
      })),
      step.for_each ? el('div', { class: 'nbkf-StepRow' }, el('span', { class: 'nbkf-Label', text: 'for each' }),
        el('span', { text: `item of ` }, el('code', { text: step.for_each }),
          step.parallelism ? ` (at most ${step.parallelism} at once)` : '')) : null,
      list('parameters', step.parameters.map(p => [el('code', { text: p })])),
      list('metrics', step.metrics.map(m => [el('code', { text: m })])),
      failure ? el('pre', { class: 'nbkf-Failure', text: failure }) : null,
      logs && logs.length ? el('details', { class: 'nbkf-Log' }, el('summary', { text: `output (${logs.length} lines)` }),
        el('pre', { text: logs.slice(-200).join('\n') })) : null);
  }

  private renderSteps(a: Analysis): void {
    const items = a.plan.steps.map(s => this.stepItem(a, s));
    this.steps.replaceChildren(...items);
    if (!a.plan.steps.length) {
      this.steps.append(el('li', { class: 'nbkf-Empty', text: 'No steps.' }));
    }
  }

  private showStep(task: string): void {
    const item = this.steps.querySelector(`li[data-task="${CSS.escape(task)}"]`);
    if (item) {
      item.scrollIntoView({ block: 'nearest' });
      item.classList.add('nbkf-mod-flash');
      window.setTimeout(() => item.classList.remove('nbkf-mod-flash'), 1200);
    }
  }

  private renderDiagnostics(list: Diagnostic[]): void {
    this.diagnosticsCount.textContent = String(list.length);
    this.diagnostics.replaceChildren(...list.map(d => {
      const here = d.cell && !d.notebook;
      const place = d.cell ? `cell ${d.cell}, ${where(d)}` : 'notebook';
      const button = el('button', { type: 'button', class: 'nbkf-DiagnosticGo', text: place, title: here ? 'Show it in the notebook' : '' }) as HTMLButtonElement;
      button.disabled = !here;
      button.addEventListener('click', () => {
        if (this.notebook && d.cell && !d.notebook) {
          revealCell(this.notebook, d.cell, d.range?.start_line, d.range?.start_column);
        }
      });
      return el('li', { class: `nbkf-Diagnostic nbkf-mod-${d.severity}`, 'data-code': d.code, 'data-cell': d.cell ?? '' },
        el('div', {}, el('span', { class: `nbkf-Severity nbkf-mod-${d.severity}`, text: d.severity }), ' ', button,
          el('span', { class: 'nbkf-Muted', text: ` ${d.code}` })),
        el('div', { class: 'nbkf-DiagnosticText', text: d.message }),
        d.hint ? el('div', { class: 'nbkf-Hint', text: `hint: ${d.hint}` }) : null);
    }));
    if (!list.length) {
      this.diagnostics.append(el('li', { class: 'nbkf-Empty', text: this.analysis ? 'No problems found.' : '' }));
    }
  }

  /** Marks the steps whose cells have errors (`has-error`) or warnings (`has-warning`). */
  private markProblems(): void {
    const a = this.analysis;
    for (const g of Array.from(this.graph.querySelectorAll('g.step'))) {
      const step = a?.plan.steps.find(s => s.task === g.getAttribute('data-task'));
      const found = step
        ? a!.diagnostics.filter(d => d.cell && (d.notebook || null) === (step.notebook || null) && step.cells.includes(d.cell))
        : [];
      g.classList.toggle('has-error', found.some(d => d.severity === 'error'));
      g.classList.toggle('has-warning', found.some(d => d.severity === 'warning'));
    }
  }

  private applyStates(): void {
    for (const g of Array.from(this.graph.querySelectorAll('g.step'))) {
      for (const c of Array.from(g.classList)) {
        if (c.startsWith('state-')) {
          g.classList.remove(c);
        }
      }
      const state = this.run?.states[g.getAttribute('data-task') || ''];
      if (state) {
        g.classList.add(`state-${state.replace('_', '-')}`);
      }
    }
  }

  // ---- messages --------------------------------------------------------------------

  private showMessage(kind: 'error' | 'notice', text: string, hint?: string): void {
    this.message.replaceChildren(el('strong', { text: kind === 'error' ? 'error: ' : '' }), text);
    if (hint) {
      this.message.append(el('div', { class: 'nbkf-Hint', text: `hint: ${hint}` }));
    }
    this.message.className = `nbkf-Message nbkf-mod-${kind}`;
    this.message.hidden = false;
  }

  private showError(e: unknown): void {
    if (e instanceof NbkfError) {
      this.showMessage('error', e.message + (e.cell ? ` (cell ${e.cell})` : ''), e.hint);
      if (e.diagnostics) {
        this.renderDiagnostics(e.diagnostics);
      }
    } else {
      this.showMessage('error', String((e as Error)?.message ?? e));
    }
  }

  private hideMessage(): void {
    this.message.hidden = true;
  }

  private showResult(title: string, ...children: (Node | string | null)[]): void {
    this.result.replaceChildren(el('h3', { text: title }), ...children.filter((c): c is Node | string => c !== null));
    this.result.hidden = false;
  }

  // ---- actions ---------------------------------------------------------------------

  private source(): { path: string; notebook: any } | null {
    const panel = this.notebook;
    if (!panel || !panel.content.model) {
      return null;
    }
    return { path: panel.context.path, notebook: panel.content.model.toJSON() };
  }

  /** Applies the tags nbkf suggests to the open notebook, in one undoable change. */
  async tag(): Promise<void> {
    const panel = this.notebook;
    const source = this.source();
    if (!panel || !source) {
      return;
    }
    this.buttons.tag.disabled = true;
    try {
      const r = await api<Tagged>('api/v1/tag', source);
      if (!r.changes.length) {
        this.showResult('Tags', el('p', { text: 'The notebook already has the tags nbkf suggests.' }));
        return;
      }
      const cells = panel.content.model!.cells;
      const before: TagUndo['before'] = [];
      const plan: { cell: any; tags: string[] }[] = [];
      for (const change of r.changes) {
        const cell = cells.get(change.cell - 1);
        if (!cell || (change.cell_id && cell.id !== change.cell_id)) {
          throw new NbkfError(409, { error: { message: `cell ${change.cell} changed while nbkf was tagging; try again` } });
        }
        plan.push({ cell, tags: change.tags });
        before.push({ id: cell.id, tags: cell.getMetadata('tags') as string[] | undefined });
      }
      panel.content.model!.sharedModel.transact(() => {
        for (const { cell, tags } of plan) {
          cell.setMetadata('tags', tags);
        }
      });
      this.undo = { panel, before };
      this.showResult('Tags written',
        el('p', { id: 'nbkf-tag-result', text: `Tagged ${r.changes.length} cell${r.changes.length === 1 ? '' : 's'} of the open notebook (not saved yet; Undo tags puts the old ones back).` }),
        el('ul', { class: 'nbkf-Items' }, ...r.changes.map(c => el('li', {}, el('strong', { text: `cell ${c.cell}` }), ' ',
          ...c.tags.map(t => el('code', { class: 'nbkf-Chip', text: t }))))));
      this.schedule(0);
    } catch (e) {
      this.showError(e);
    } finally {
      this.render();
    }
  }

  /** Puts back the tags the cells had before the last Tag notebook. */
  undoTags(): void {
    const undo = this.undo;
    if (!undo || undo.panel !== this.notebook || !undo.panel.content.model) {
      return;
    }
    const model = undo.panel.content.model;
    const byId = new Map<string, any>();
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      byId.set(cell.id, cell);
    }
    model.sharedModel.transact(() => {
      for (const { id, tags } of undo.before) {
        const cell = byId.get(id);
        if (!cell) {
          continue;
        }
        if (tags === undefined) {
          cell.deleteMetadata('tags');
        } else {
          cell.setMetadata('tags', tags);
        }
      }
    });
    this.undo = null;
    this.showResult('Tags', el('p', { text: 'The tags are as they were before Tag notebook.' }));
    this.schedule(0);
    this.render();
  }

  /** Writes the pipeline beside the notebook: KFP IR YAML, or (`dsl`) a KFP Python DSL script. */
  async compile(format: 'ir' | 'dsl' = 'ir'): Promise<void> {
    const source = this.source();
    if (!source) {
      return;
    }
    const stem = source.path.replace(/\.ipynb$/i, '');
    // A script's file name is a Python module name (`kfp dsl compile` imports it).
    const slash = stem.lastIndexOf('/') + 1;
    const output = format === 'dsl'
      ? stem.slice(0, slash) + stem.slice(slash).replace(/[^A-Za-z0-9_]/g, '_') + '_pipeline.py'
      : stem + '.pipeline.yaml';
    const button = format === 'dsl' ? this.buttons['compile-dsl'] : this.buttons.compile;
    button.disabled = true;
    try {
      const r = await api<Compiled>('api/v1/compile', { ...source, output, format });
      const what = format === 'dsl' ? 'KFP Python DSL' : 'KFP IR YAML';
      this.showResult('Compiled',
        el('p', { id: 'nbkf-compile-result', 'data-format': format }, 'Wrote ', el('code', { text: r.written || output }),
          ` (${r.yaml.split('\n').length} lines of ${what}).`),
        r.diagnostics.length ? el('p', { class: 'nbkf-Muted', text: `${r.diagnostics.length} warning(s): see Diagnostics.` }) : null);
    } catch (e) {
      this.showError(e);
    } finally {
      this.render();
    }
  }

  /** Starts a local run or a check and follows it live. */
  async start(kind: 'run' | 'check'): Promise<void> {
    const source = this.source();
    if (!source) {
      return;
    }
    this.hideMessage();
    this.buttons.run.disabled = this.buttons.check.disabled = true;
    let started: Started;
    try {
      started = await api<Started>(kind === 'check' ? 'api/v1/check' : 'api/v1/runs', { ...source, parameters: this.parameters.values() });
    } catch (e) {
      this.showError(e);
      this.render();
      return;
    }
    this.stopFollowing();
    const states: Record<string, string> = {};
    for (const t of started.tasks) {
      states[t] = 'pending';
    }
    const run: RunView = { id: started.run_id, kind, states, failures: {}, logs: {}, state: 'running', abort: new AbortController() };
    this.run = run;
    this.showResult(`${kind === 'check' ? 'Check' : 'Run'} ${run.id}`, el('p', { class: 'nbkf-Muted', text: 'running…' }));
    this.updateRun();
    let ended: { state: string; error?: string } | null = null;
    try {
      await followEvents(`api/v1/runs/${encodeURIComponent(run.id)}/events`, (event, data) => {
        if (event === 'step') {
          run.states[data.task] = data.state;
          if (data.failure) {
            run.failures[data.task] = data.failure;
          }
        } else if (event === 'log') {
          (run.logs[data.task] = run.logs[data.task] || []).push(data.line);
        } else if (event === 'end') {
          ended = data;
        }
        if (this.run === run) {
          this.updateRun();
        }
      }, run.abort.signal);
    } catch (e) {
      if (run.abort.signal.aborted) {
        return;
      }
      this.showError(e);
    }
    if (this.run !== run) {
      return;
    }
    // The stream ended: how the run ended is asked for (also when the stream broke).
    let status: RunStatus | null = null;
    try {
      status = await api<RunStatus>(`api/v1/runs/${encodeURIComponent(run.id)}`);
    } catch (e) {
      this.showError(e);
    }
    run.state = (status && status.state) || (ended as { state: string } | null)?.state || 'error';
    this.updateRun();
    this.finished(run, status);
  }

  private updateRun(): void {
    this.applyStates();
    this.render();
  }

  private finished(run: RunView, status: RunStatus | null): void {
    const what = run.kind === 'check' ? 'Check' : 'Run';
    const items: (Node | null)[] = [
      el('p', { id: 'nbkf-run-outcome', 'data-state': run.state, text: `${what} ${run.id}: ${run.state.replace('_', ' ')}.` })
    ];
    if (status?.error) {
      items.push(el('pre', { class: 'nbkf-Failure', text: status.error }));
    }
    if (run.kind === 'check' && status?.result) {
      const r = status.result;
      const all: Comparison[] = [...(r.values || []), ...(r.metrics || []), ...(r.outputs || [])];
      const differs = all.filter(c => c.status === 'differs');
      if (r.notebook_failure) {
        items.push(el('p', { text: 'The notebook itself failed in the reference run:' }), el('pre', { class: 'nbkf-Failure', text: r.notebook_failure }));
      }
      items.push(el('p', { id: 'nbkf-check-verdict', text: r.passed
        ? `The pipeline computes what the notebook computes: ${all.length} value${all.length === 1 ? '' : 's'} compared, all equal.`
        : `${differs.length} of ${all.length} values differ between the pipeline and the notebook.` }));
      if (differs.length) {
        items.push(el('ul', { class: 'nbkf-Items' }, ...differs.map(c => el('li', {},
          el('strong', { text: c.variable || c.key || 'output' }), ` in step ${c.task}`,
          c.cell != null ? ` (after cell ${c.cell + 1})` : '',
          c.reason ? el('div', { class: 'nbkf-Muted', text: c.reason }) : null,
          el('div', {}, 'pipeline: ', el('code', { text: c.pipeline ?? '' })),
          el('div', {}, 'notebook: ', el('code', { text: c.notebook ?? '' }))))));
      }
    }
    for (const [task, failure] of Object.entries(run.failures)) {
      items.push(el('div', { class: 'nbkf-Diagnostic nbkf-mod-error' }, el('strong', { text: `step ${task} failed` }),
        el('pre', { class: 'nbkf-Failure', text: failure })));
    }
    this.showResult(`${what} ${run.state.replace('_', ' ')}`, ...items);
  }

  private stopFollowing(): void {
    if (this.run) {
      this.run.abort.abort();
      this.run = null;
    }
  }

  async cancel(): Promise<void> {
    if (!this.run) {
      return;
    }
    try {
      await api(`api/v1/runs/${encodeURIComponent(this.run.id)}/cancel`, {});
    } catch (e) {
      this.showError(e);
    }
  }

  /** Submits to Kubeflow Pipelines, after asking whether one is configured and answers. */
  async submit(): Promise<void> {
    const source = this.source();
    if (!source) {
      return;
    }
    this.buttons.submit.disabled = true;
    try {
      try {
        await api('api/v1/kfp/health');
      } catch (e) {
        if (e instanceof NbkfError && e.code === 'kfp-not-configured') {
          this.showResult('Submit',
            el('p', { id: 'nbkf-submit-result', text: `No Kubeflow Pipelines cluster is configured for nbkf: ${e.message}` }),
            el('p', { class: 'nbkf-Muted', text: e.hint || 'Name one with `nbkf config set-profile NAME --host URL` and `nbkf config use NAME` (read at each Submit), or set KF_PIPELINES_ENDPOINT in the environment JupyterLab starts from. Meanwhile Compile writes a pipeline YAML file you can upload by hand.' }));
          return;
        }
        throw e;
      }
      const r = await api<Submitted>('api/v1/kfp/submit', { ...source, parameters: this.parameters.values() });
      this.showResult('Submitted',
        el('p', { id: 'nbkf-submit-result' }, `Run ${r.run_name} of ${r.pipeline_name} (version ${r.version_name}) started in experiment ${r.experiment_name}.`),
        r.run_url ? el('p', {}, el('a', { href: r.run_url, target: '_blank', rel: 'noopener', text: 'Open the run in the KFP UI' })) : null);
    } catch (e) {
      this.showError(e);
    } finally {
      this.render();
    }
  }

  private saveSettings(values: KaleSettings): string | null {
    const panel = this.notebook;
    if (!panel) {
      return 'no notebook is open';
    }
    const problem = writeSettings(panel, values);
    if (!problem) {
      this.schedule(0);
    }
    return problem;
  }

  dispose(): void {
    this.stopFollowing();
    window.clearTimeout(this.timer);
    super.dispose();
  }

  /** Shows an error raised outside the panel (commands), in a dialog when it is hidden. */
  report(e: unknown): void {
    if (this.isVisible) {
      this.showError(e);
    } else {
      void showErrorMessage('nbkf', (e as Error).message ?? String(e));
    }
  }
}
