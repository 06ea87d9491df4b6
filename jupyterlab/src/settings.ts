/**
 * The pipeline settings Kale keeps in the notebook's metadata, `kubeflow_notebook`:
 * `pipeline_name`, `experiment` (`{id, name}`) with `experiment_name`, `pipeline_description`
 * and `base_image`, written as Kale's own panel writes them (other keys kept as they are).
 */
import type { NotebookPanel } from '@jupyterlab/notebook';

import { el } from './dom';
import type { Analysis, KaleSettings } from './model';

/** Kale's rule for pipeline names (a DNS-1123 label). */
const PIPELINE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function readSettings(panel: NotebookPanel): KaleSettings {
  const value = panel.content.model?.getMetadata('kubeflow_notebook');
  return value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as KaleSettings) } : {};
}

/** Writes the settings into the notebook's metadata; a problem with them, or null. */
export function writeSettings(panel: NotebookPanel, values: KaleSettings): string | null {
  const name = (values.pipeline_name || '').trim();
  if (name && !PIPELINE_NAME.test(name)) {
    return `the pipeline name "${name}" must be lowercase letters, digits and '-', starting and ending with a letter or digit (as Kale and KFP require)`;
  }
  const model = panel.content.model;
  if (!model) {
    return 'the notebook is not loaded';
  }
  const current = readSettings(panel);
  const next: KaleSettings = { ...current };
  const put = (key: keyof KaleSettings, value: string | undefined) => {
    const v = (value || '').trim();
    if (v) {
      next[key] = v;
    } else {
      delete next[key];
    }
  };
  put('pipeline_name', values.pipeline_name);
  put('pipeline_description', values.pipeline_description);
  put('base_image', values.base_image);
  const experiment = (values.experiment_name || '').trim();
  if (experiment) {
    next.experiment_name = experiment;
    // Kale's panel keeps the KFP id of a known experiment and `new` for one to create.
    const known = current.experiment && current.experiment.name === experiment && current.experiment.id;
    next.experiment = { id: known || 'new', name: experiment };
  } else {
    delete next.experiment_name;
    delete next.experiment;
  }
  model.setMetadata('kubeflow_notebook', next);
  return null;
}

const FIELDS: { key: keyof KaleSettings; label: string; placeholder: string }[] = [
  { key: 'pipeline_name', label: 'Pipeline name', placeholder: 'from the file name' },
  { key: 'experiment_name', label: 'Experiment', placeholder: 'Default' },
  { key: 'pipeline_description', label: 'Description', placeholder: 'none' },
  { key: 'base_image', label: 'Base image', placeholder: 'python:3.11' }
];

/** The settings form, folded under the panel. */
export class SettingsForm {
  readonly node: HTMLDetailsElement;
  private inputs = new Map<keyof KaleSettings, HTMLInputElement>();
  private problem = el('div', { class: 'nbkf-FormProblem', role: 'alert', hidden: true });
  private save: HTMLButtonElement;

  constructor(onSave: (values: KaleSettings) => string | null) {
    const form = el('form', { class: 'nbkf-Form', 'aria-label': 'Pipeline settings' }) as HTMLFormElement;
    for (const f of FIELDS) {
      const input = el('input', { type: 'text', name: f.key, placeholder: f.placeholder, spellcheck: 'false' }) as HTMLInputElement;
      this.inputs.set(f.key, input);
      form.append(el('label', { class: 'nbkf-Field' }, el('span', { text: f.label }), input));
    }
    this.save = el('button', { type: 'submit', class: 'nbkf-Button nbkf-mod-primary', text: 'Save settings' }) as HTMLButtonElement;
    form.append(this.problem, el('div', { class: 'nbkf-FormButtons' }, this.save));
    form.addEventListener('submit', event => {
      event.preventDefault();
      const values: KaleSettings = {};
      for (const [key, input] of this.inputs) {
        values[key] = input.value;
      }
      const problem = onSave(values);
      this.problem.textContent = problem || '';
      this.problem.hidden = !problem;
      if (!problem) {
        this.save.textContent = 'Saved in the notebook';
        window.setTimeout(() => (this.save.textContent = 'Save settings'), 1500);
      }
    });
    this.node = el('details', { class: 'nbkf-Settings' }, el('summary', { text: 'Pipeline settings' }), form) as HTMLDetailsElement;
  }

  /** Shows a notebook's stored settings (or none). */
  show(values: KaleSettings | null): void {
    this.problem.hidden = true;
    for (const [key, input] of this.inputs) {
      const v = values ? values[key] : undefined;
      input.value = typeof v === 'string' ? v : '';
      input.disabled = values === null;
    }
    this.save.disabled = values === null;
  }

  /** Shows the settings in effect (after nbkf's defaults) as placeholders. */
  effective(s: Analysis['settings']): void {
    this.inputs.get('pipeline_name')!.placeholder = s.pipeline_name;
    this.inputs.get('experiment_name')!.placeholder = s.experiment || 'Default';
    this.inputs.get('base_image')!.placeholder = s.base_image;
  }
}
