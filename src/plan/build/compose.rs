//! Steps of composed notebooks (`notebook:` cells, see [`crate::notebook::compose`]): each
//! step's cells come from one notebook, and each sub-notebook's steps form a sub-pipeline.

use std::collections::BTreeSet;

use super::layout::Layout;
use crate::diagnostics::Diagnostic;
use crate::names;
use crate::notebook::compose::Composition;
use crate::notebook::Notebook;
use crate::plan::{StepPlan, SubPipeline};
use crate::tags::{self, Role};

/// Refuses a step whose cells come from different notebooks: an untagged cell after a
/// `notebook:` cell (it would join the sub-notebook's last step), or a step name the
/// caller and a sub-notebook both use.
pub(super) fn check_steps(
    notebook: &Notebook,
    composition: &Composition,
    layout: &Layout,
    diags: &mut Vec<Diagnostic>,
) {
    for step in &layout.steps {
        let Some(&first) = step.cells.first() else { continue };
        // The step belongs to the notebook whose cell names it.
        let named = |c: &&usize| tags::parse_cell_tags(&notebook.cells[**c]).0.role == Role::Step(step.name.clone());
        let home = composition.sub_of(*step.cells.iter().find(named).unwrap_or(&first));
        if let Some(&cell) = step.cells.iter().find(|c| composition.sub_of(**c) != home) {
            let owner = match home {
                Some(s) => format!("`{}`", composition.subs[s].path),
                None => "the converted notebook".to_string(),
            };
            diags.push(
                Diagnostic::error(
                    "step-across-notebooks",
                    format!(
                        "this cell would join step `{}`, which is in {owner}: a step's cells come from one notebook",
                        step.name
                    ),
                )
                .in_cell(cell)
                .with_hint("start a step here with a `step:<name>` tag (after a `notebook:` cell, the next code cell needs one)"),
            );
        }
    }
}

/// The sub-pipelines of a composed notebook, with their task names (unique among the
/// steps' and nbkf's own).
pub(super) fn sub_pipelines(composition: &Composition, steps: &[StepPlan]) -> Vec<SubPipeline> {
    let mut taken: BTreeSet<String> = steps.iter().map(|s| s.task.clone()).collect();
    taken.insert(names::RUNTIME_TASK.to_string());
    composition
        .subs
        .iter()
        .map(|s| {
            let task = names::unique(names::step_task(s.prefix.trim_end_matches('_')), &mut taken, '-', 63);
            SubPipeline { name: s.name.clone(), path: s.path.clone(), parent: s.parent, task, cell: s.cell }
        })
        .collect()
}
