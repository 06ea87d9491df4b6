/**
 * nbkf's JupyterLab extension: the *Pipeline* side panel for the active notebook, step
 * badges and diagnostics on its cells, and commands for Tag notebook, Compile, Run locally,
 * Check and Submit. It talks to `nbkf serve` through the server extension's `/nbkf` proxy.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { PipelinePanel } from './panel';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<g class="jp-icon3" fill="#616161"><circle cx="5" cy="6" r="3"/><circle cx="5" cy="18" r="3"/><circle cx="19" cy="12" r="3"/>
<path d="M7.5 7.2l9 3.6-.6 1.4-9-3.6zM7.5 16.8l9-3.6-.6-1.4-9 3.6z"/></g></svg>`;

/** The panel's icon: three steps joined. */
export const pipelineIcon = new LabIcon({ name: 'nbkf:pipeline', svgstr: ICON_SVG });

const COMMANDS: { id: string; label: string; run: (panel: PipelinePanel) => Promise<void> | void }[] = [
  { id: 'nbkf:tag', label: 'Pipeline: Tag Notebook', run: p => p.tag() },
  { id: 'nbkf:compile', label: 'Pipeline: Compile', run: p => p.compile() },
  { id: 'nbkf:compile-dsl', label: 'Pipeline: Write as Python DSL', run: p => p.compile('dsl') },
  { id: 'nbkf:run', label: 'Pipeline: Run Locally', run: p => p.start('run') },
  { id: 'nbkf:check', label: 'Pipeline: Check', run: p => p.start('check') },
  { id: 'nbkf:submit', label: 'Pipeline: Submit', run: p => p.submit() }
];

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbkf-jupyterlab:plugin',
  description: 'The pipeline beside the notebook: steps, dataflow, diagnostics, local runs and submission, by nbkf.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell | null,
    palette: ICommandPalette | null
  ) => {
    const panel = new PipelinePanel();
    panel.title.icon = pipelineIcon;
    app.shell.add(panel, 'right', { rank: 600 });

    // The panel follows the active notebook (and keeps the last one while another kind of
    // document has the focus).
    tracker.currentChanged.connect((_, current) => {
      if (current) {
        panel.setNotebook(current);
      } else if (!tracker.size) {
        panel.setNotebook(null);
      }
    });
    if (tracker.currentWidget) {
      panel.setNotebook(tracker.currentWidget);
    }

    app.commands.addCommand('nbkf:open', {
      label: 'Pipeline: Show Panel',
      execute: () => {
        if (labShell) {
          labShell.activateById(panel.id);
        } else {
          app.shell.activateById(panel.id);
        }
      }
    });
    for (const c of COMMANDS) {
      app.commands.addCommand(c.id, {
        label: c.label,
        isEnabled: () => !!tracker.currentWidget,
        execute: async () => {
          app.shell.activateById(panel.id);
          try {
            await c.run(panel);
          } catch (e) {
            panel.report(e);
          }
        }
      });
    }
    if (palette) {
      for (const id of ['nbkf:open', ...COMMANDS.map(c => c.id)]) {
        palette.addItem({ command: id, category: 'Pipeline (nbkf)' });
      }
    }
  }
};

export default plugin;
