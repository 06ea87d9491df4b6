/** The shapes `nbkf serve` answers with (its OpenAPI document, `/api/openapi.json`). */

/** A position range in a cell (1-based lines, columns in characters). */
export interface Range {
  start_line: number;
  start_column: number;
  end_line: number;
  end_column: number;
}

/** A problem found, at its cell (1-based) and range when known. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  cell?: number;
  /** Set when the cell is in a notebook a `notebook:` cell runs (its path); `cell` counts its cells. */
  notebook?: string;
  cell_id?: string;
  range?: Range;
  tag?: string;
  hint?: string;
}

/** A cell and the part it plays in the pipeline. */
export interface CellOut {
  cell: number;
  cell_id?: string;
  kind: string;
  role: 'step' | 'prelude' | 'parameters' | 'metrics' | 'skipped' | 'notebook' | 'text';
  step?: string;
  excerpt: string;
}

export interface StepInput {
  variable: string;
  from: string;
}

/** A step of the plan (`nbkf plan --format json`). */
export interface Step {
  name: string;
  task: string;
  cells: number[];
  inputs: StepInput[];
  outputs: string[];
  parameters: string[];
  metrics: string[];
  packages: string[];
  definitions: string[];
  after: string[];
  /** The exit step (tagged `finally`): runs after the others, also when one failed. */
  finally: boolean;
  /** A `for:` step: the list it runs once per item of. */
  for_each: string | null;
  parallelism: number | null;
  /** The lists its items append to, collected for later steps. */
  collects: string[];
  /** The notebook its cells are in, when a `notebook:` cell runs it (`cells` count its cells). */
  notebook?: string | null;
  /** The sub-pipeline it is in (`outer/square`). */
  sub_pipeline?: string | null;
}

export interface Parameter {
  name: string;
  type: string;
  default: unknown;
  cell: number;
}

export interface Analysis {
  plan: { pipeline: string; steps: Step[]; parameters: Parameter[] };
  cells: CellOut[];
  edges: { from: string; to: string; variables: string[] }[];
  diagnostics: Diagnostic[];
  ok: boolean;
  settings: {
    pipeline_name: string;
    description?: string;
    experiment?: string;
    base_image: string;
  };
  cached: boolean;
}

export interface Drawing {
  format: string;
  pipeline: string;
  drawing: string;
  ok: boolean;
}

export interface Tagged {
  changes: { cell: number; cell_id?: string; tags: string[] }[];
}

export interface Compiled {
  pipeline_name: string;
  yaml: string;
  written?: string;
  diagnostics: Diagnostic[];
}

export interface Started {
  run_id: string;
  pipeline: string;
  tasks: string[];
}

export interface Comparison {
  task: string;
  variable?: string | null;
  key?: string | null;
  cell?: number | null;
  status: 'equal' | 'differs' | 'not_comparable';
  reason?: string | null;
  pipeline?: string | null;
  notebook?: string | null;
}

export interface RunStatus {
  run_id: string;
  kind: string;
  state: string;
  result?: {
    passed?: boolean;
    notebook_failure?: string | null;
    values?: Comparison[];
    metrics?: Comparison[];
    outputs?: Comparison[];
  };
  error?: string;
}

export interface Submitted {
  pipeline_name: string;
  version_name: string;
  experiment_name: string;
  run_id: string;
  run_name: string;
  run_url?: string | null;
}

/** The settings Kale keeps in the notebook's metadata (`kubeflow_notebook`). */
export interface KaleSettings {
  pipeline_name?: string;
  experiment_name?: string;
  experiment?: { id?: string; name?: string };
  pipeline_description?: string;
  base_image?: string;
  [key: string]: unknown;
}
