/**
 * The pipeline parameters, with a value to run with for each: Run locally, Check and Submit
 * pass the values that differ from the notebook's defaults (as text; nbkf checks them against
 * the parameters' types).
 */
import { el } from './dom';
import type { Parameter } from './model';

/** A default as the text a person would type. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export class ParametersForm {
  readonly node: HTMLElement;
  private list = el('div', { class: 'nbkf-ParameterList' });
  private inputs = new Map<string, { input: HTMLInputElement; fallback: string }>();
  private key = '';

  constructor() {
    this.node = el('section', { class: 'nbkf-Section nbkf-ParametersForm', 'aria-label': 'Parameters', hidden: true },
      el('h3', { text: 'Parameters' }),
      el('p', { class: 'nbkf-Muted', text: 'Values for Run locally, Check and Submit (the notebook keeps its own).' }),
      this.list);
  }

  /** Shows a notebook's parameters; values typed for parameters that stay are kept. */
  show(parameters: Parameter[] | null): void {
    const list = parameters || [];
    const key = JSON.stringify(list.map(p => [p.name, p.type, p.default]));
    if (key === this.key) {
      return;
    }
    this.key = key;
    const typed = new Map<string, string>();
    for (const [name, { input, fallback }] of this.inputs) {
      if (input.value !== fallback) {
        typed.set(name, input.value);
      }
    }
    this.inputs.clear();
    this.list.replaceChildren(...list.map(p => {
      const fallback = text(p.default);
      const input = el('input', { type: 'text', name: `param-${p.name}`, spellcheck: 'false', 'aria-label': `parameter ${p.name}` }) as HTMLInputElement;
      input.value = typed.get(p.name) ?? fallback;
      this.inputs.set(p.name, { input, fallback });
      return el('label', { class: 'nbkf-Field nbkf-Parameter' },
        el('span', {}, el('code', { text: p.name }), el('span', { class: 'nbkf-Muted', text: ` ${p.type}, default ${fallback}` })),
        input);
    }));
    this.node.hidden = list.length === 0;
  }

  /** The values that differ from the defaults. */
  values(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, { input, fallback }] of this.inputs) {
      if (input.value !== fallback) {
        out[name] = input.value;
      }
    }
    return out;
  }
}
