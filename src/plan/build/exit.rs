//! The exit step (a step tagged `finally`): the pipeline runs it after all the other steps,
//! also when one of them failed, as KFP's `dsl.ExitHandler` does.
//!
//! The rule that keeps it computing what the notebook computes: in the notebook it is the
//! last step, and it uses nothing the other steps make (only pipeline parameters, the
//! prelude and its own cells). Then, when the other steps succeed, it sees what it sees in
//! the notebook; and when one fails, it still runs and sees the same, as the body of a
//! `try: ... finally:` does. Whatever breaks the rule is an error at the cell.

use super::checks::display_variable;
use super::layout::Layout;
use super::walk::Walk;
use crate::diagnostics::Diagnostic;
use crate::notebook::Notebook;
use crate::tags::{self, StepSetting};

/// Finds the exit step (an index into the layout's steps) and checks the rule; `None`
/// when there is none or it breaks the rule (the errors say why).
pub(super) fn exit_step(
    notebook: &Notebook,
    layout: &Layout,
    walk: &Walk,
    diags: &mut Vec<Diagnostic>,
) -> Option<usize> {
    // (step, the cell with the tag)
    let mut tagged: Vec<(usize, usize)> = Vec::new();
    for (s, step) in layout.steps.iter().enumerate() {
        let cell = step.cells.iter().copied().find(|c| {
            let (t, _) = tags::parse_cell_tags(&notebook.cells[*c]);
            t.settings.iter().any(|(setting, _)| *setting == StepSetting::Finally)
        });
        if let Some(c) = cell {
            tagged.push((s, c));
        }
    }
    let &(exit, cell) = tagged.first()?;
    let name = &layout.steps[exit].name;
    let error = |message: String, hint: &str| {
        Diagnostic::error("exit-step", message).in_cell(cell).with_tag("finally").with_hint(hint.to_string())
    };
    let before = diags.len();
    for &(other, other_cell) in &tagged[1..] {
        diags.push(
            Diagnostic::error(
                "exit-step",
                format!(
                    "step `{}` is tagged `finally`, but step `{name}` (cell {}) is the exit step already; a pipeline has one",
                    layout.steps[other].name,
                    cell + 1
                ),
            )
            .in_cell(other_cell)
            .with_tag("finally")
            .with_hint("keep `finally` on one step; put what both do in that step's cells"),
        );
    }
    if layout.steps.len() == 1 {
        diags.push(error(
            format!("step `{name}` is tagged `finally`, but it is the only step; the exit step runs after the others"),
            "remove the `finally` tag, or give the cells before it steps of their own",
        ));
    }
    let first = layout.steps[exit].cells.first().copied().unwrap_or(cell);
    let later = layout
        .steps
        .iter()
        .enumerate()
        .filter(|(s, _)| *s != exit)
        .filter_map(|(s, step)| step.cells.iter().rev().find(|c| **c > first).map(|c| (s, *c)))
        .min_by_key(|(_, c)| *c);
    if let Some((s, c)) = later {
        diags.push(error(
            format!(
                "the exit step `{name}` must be the notebook's last step, but step `{}` has cell {} after it; the pipeline runs the exit step last",
                layout.steps[s].name,
                c + 1
            ),
            "move the exit step's cells to the end of the notebook",
        ));
    }
    if !layout.steps[exit].prev.is_empty() {
        diags.push(
            Diagnostic::warning(
                "ignored-tag",
                format!("`prev:` on the exit step `{name}` has no effect: it runs after every other step"),
            )
            .in_cell(cell)
            .with_hint("remove the `prev:` tags from the exit step"),
        );
    }
    for r in walk.steps[exit].inputs.values().filter(|r| r.producer != exit) {
        diags.push(
            Diagnostic::error(
                "exit-step",
                format!(
                    "the exit step `{name}` reads {} from step `{}`; the exit step also runs when other steps failed, so it can use only pipeline parameters and what it makes itself",
                    display_variable(&r.variable),
                    layout.steps[r.producer].name
                ),
            )
            .in_cell(r.reader_cell)
            .at(r.span)
            .with_hint(format!(
                "compute it in step `{name}` itself (or pass it as a pipeline parameter), or remove the `finally` tag"
            )),
        );
    }
    let broken = diags[before..].iter().any(Diagnostic::is_error);
    (!broken).then_some(exit)
}
