//! Fan-out steps (`for:<list>`): the pipeline runs the cell's loop body once per item, in
//! parallel, where the notebook runs the loop once, item after item.
//!
//! The rule that makes both compute the same: **the iterations are independent, and what
//! leaves the loop is only what it appends to lists made empty just before it.** Then the
//! order the items run in does not matter, and concatenating each item's appends in item
//! order gives the lists the notebook has after its loop. nbkf checks the rule at convert
//! time and names the line that breaks it:
//! - the step is one cell: `name = []` lines, then `for <target> in <list>:`, nothing after
//!   it, no `else:`, no `break` (see [`crate::python::loop_cell`]);
//! - `<list>` is a list pipeline parameter or a value an earlier step makes, and the body
//!   does not read it (each item's run has only its item);
//! - the body only appends to the lists (`acc.append(x)`);
//! - the body changes nothing made before the loop (no carried totals, no mutated inputs,
//!   no draws from the global random generators, no process settings);
//! - a name the body binds is bound before the body reads it (else the notebook's reads see
//!   the previous item's value);
//! - later steps read only the lists, never a name bound in the body (after the loop the
//!   notebook holds the last item's value), and the step logs no metrics.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::display_variable;
use super::layout::Layout;
use super::walk::{Unit, Walk};
use crate::diagnostics::Diagnostic;
use crate::notebook::Notebook;
use crate::plan::{ParameterKind, PipelineParameter};
use crate::python::{self, CellFacts, Effect, Span};

/// What the checks found for one `for:` step (by layout index).
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) list: String,
    /// The layout index of the producing step, or `None` for a parameter.
    pub(super) producer: Option<usize>,
    pub(super) accumulators: Vec<String>,
    pub(super) parallelism: Option<u32>,
}

/// The `for:` step of each layout step that has a valid one; errors for the others.
pub(super) fn fan_outs(
    notebook: &Notebook,
    layout: &Layout,
    walk: &Walk,
    facts: &[Option<CellFacts>],
    parameters: &[PipelineParameter],
    exit: Option<usize>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Option<Found>> {
    // Each step's `for:` and `parallelism:` tags, with their cells.
    type Tagged = (Option<(String, usize)>, Option<(u32, usize)>);
    let tagged: Vec<Tagged> = layout
        .steps
        .iter()
        .map(|step| {
            let (mut list, mut parallelism) = (None, None);
            for &c in &step.cells {
                let (tags, _) = crate::tags::parse_cell_tags(&notebook.cells[c]);
                for (setting, _) in &tags.settings {
                    match setting {
                        crate::tags::StepSetting::ForEach(l) => list = Some((l.clone(), c)),
                        crate::tags::StepSetting::Parallelism(n) => parallelism = Some((*n, c)),
                        _ => {}
                    }
                }
            }
            (list, parallelism)
        })
        .collect();
    let mut out = vec![None; layout.steps.len()];
    for (s, step) in layout.steps.iter().enumerate() {
        let (list, parallelism) = tagged[s].clone();
        let Some((list, cell)) = list else {
            if let Some((_, c)) = parallelism {
                diags.push(
                    Diagnostic::warning("ignored-tag", "`parallelism:` has no effect on a step without `for:`")
                        .in_cell(c)
                        .with_hint("tag the step `for:<list>` to run it once per item"),
                );
            }
            continue;
        };
        let before = diags.len();
        let err = |message: String, span: Option<Span>, hint: &str| {
            let mut d = Diagnostic::error("fan-out", message).in_cell(cell).with_hint(hint.to_string());
            if let Some(span) = span {
                d = d.at(span);
            }
            d
        };
        if exit == Some(s) {
            diags.push(err(
                format!("the exit step `{}` cannot also be a `for:` step", step.name),
                None,
                "give the loop a step of its own",
            ));
            continue;
        }
        if let Some(&other) = step.cells.iter().find(|c| **c != cell) {
            diags.push(
                Diagnostic::error(
                    "fan-out",
                    format!(
                        "step `{}` is a `for:` step, so it has one cell; cell {} is part of it too",
                        step.name,
                        other + 1
                    ),
                )
                .in_cell(other)
                .with_hint("give this cell a `step:` of its own"),
            );
            continue;
        }
        let lc = match python::loop_cell(&notebook.cells[cell].source) {
            Ok(lc) => lc,
            Err(p) => {
                diags.push(
                    Diagnostic::error("fan-out", p.message)
                        .in_cell(cell)
                        .at(p.span)
                        .with_hint(p.hint.unwrap_or_default()),
                );
                continue;
            }
        };
        if lc.iterable != list {
            diags.push(err(
                format!("the loop goes over `{}`, but the step is tagged `for:{list}`", lc.iterable),
                Some(lc.header),
                &format!("write `for ... in {list}:`, or tag the step `for:<the list it goes over>`"),
            ));
            continue;
        }
        let acc = &walk.steps[s];
        let producer = acc.inputs.get(&list).map(|r| r.producer);
        if producer.is_none() {
            let param = parameters.iter().find(|p| p.name == list);
            match param {
                Some(p) if p.kind == ParameterKind::List && acc.params.contains(&list) => {}
                Some(p) => {
                    diags.push(err(
                        format!(
                            "`for:{list}` needs a list, but pipeline parameter `{list}` is a {}",
                            p.kind.describe()
                        ),
                        Some(lc.header),
                        "make the parameter a list literal",
                    ));
                    continue;
                }
                None => {
                    diags.push(err(
                        format!("`{list}` must be a list pipeline parameter or a list an earlier step makes"),
                        Some(lc.header),
                        "make it in an earlier step, or in the `pipeline-parameters` cell",
                    ));
                    continue;
                }
            }
        }
        if let Some(p) = producer {
            if tagged[p].0.is_some() {
                diags.push(err(
                    format!("`{list}` is collected from the loop of step `{}`; a `for:` over a collected list is not supported yet", layout.steps[p].name),
                    Some(lc.header),
                    "make the list in a step without `for:` (or loop over the earlier list in this step)",
                ));
                continue;
            }
        }
        let Some(f) = facts[cell].as_ref() else { continue };
        check_body(&lc, f, walk, s, &list, diags, cell);
        let accumulators: Vec<String> = lc.accumulators.iter().map(|(n, _)| n.clone()).collect();
        check_outputs(layout, walk, s, &accumulators, diags);
        if !acc.metrics.is_empty() {
            diags.push(err(
                format!("step `{}` is a `for:` step: it cannot log metrics (each item would log its own)", step.name),
                None,
                "log a metric computed from the collected lists in a later step",
            ));
        }
        if diags[before..].iter().any(Diagnostic::is_error) {
            continue;
        }
        out[s] = Some(Found { list, producer, accumulators, parallelism: parallelism.map(|(n, _)| n) });
    }
    out
}

/// The name an effect is about, and where.
fn subject(e: &Effect) -> Option<(&str, Span)> {
    match e {
        Effect::Read { name, span, .. }
        | Effect::Bind { name, span, .. }
        | Effect::Mutate { name, span, .. }
        | Effect::Delete { name, span } => Some((name, *span)),
        Effect::MethodCall { receiver, span, .. } => Some((receiver, *span)),
        _ => None,
    }
}

fn check_body(
    lc: &python::LoopCell,
    facts: &CellFacts,
    walk: &Walk,
    s: usize,
    list: &str,
    diags: &mut Vec<Diagnostic>,
    cell: usize,
) {
    let in_body = |span: &Span| span.start >= lc.body.0 && span.start < lc.body.1;
    let err = |message: String, span: Span, hint: String| {
        Diagnostic::error("fan-out", message).in_cell(cell).at(span).with_hint(hint)
    };
    let accumulators: BTreeSet<&str> = lc.accumulators.iter().map(|(n, _)| n.as_str()).collect();
    let target: BTreeSet<&str> = lc.target.iter().map(String::as_str).collect();
    // Where `acc.append(...)` calls start: the read of `acc` there is part of the append.
    let appends: BTreeSet<usize> = facts
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::MethodCall { receiver, path, span, .. }
                if accumulators.contains(receiver.as_str()) && path.len() == 1 && path[0] == "append" =>
            {
                Some(span.start)
            }
            _ => None,
        })
        .collect();
    // The first effect of each name in the cell, and its effects in the body, in order.
    let mut first: BTreeMap<&str, &Effect> = BTreeMap::new();
    let mut body: BTreeMap<&str, Vec<&Effect>> = BTreeMap::new();
    for e in &facts.effects {
        let Some((name, span)) = subject(e) else { continue };
        first.entry(name).or_insert(e);
        if in_body(&span) {
            body.entry(name).or_default().push(e);
        }
    }
    let mut reported = BTreeSet::new();
    for (name, effects) in &body {
        let name = *name;
        if accumulators.contains(name) {
            let wrong = effects.iter().find(|e| match e {
                Effect::MethodCall { span, .. } | Effect::Read { span, .. } => !appends.contains(&span.start),
                _ => true,
            });
            if let Some(e) = wrong {
                let (_, span) = subject(e).unwrap_or((name, lc.header));
                diags.push(err(
                    format!("`{name}` collects what the items give: in the loop it can only be appended to (`{name}.append(...)`)"),
                    span,
                    format!("use another name for this, and append the result to `{name}`"),
                ));
            }
            continue;
        }
        if name == list {
            if let Some((_, span)) = effects.first().and_then(|e| subject(e)) {
                diags.push(err(
                    format!("the loop body reads `{list}`: the pipeline runs each item apart, with only its item"),
                    span,
                    "compute what the body needs from the whole list in an earlier step".into(),
                ));
            }
            continue;
        }
        if target.contains(name) {
            continue;
        }
        // Made before the loop: in an earlier step, a parameter, or before the loop in this cell.
        let acc = &walk.steps[s];
        let outer = acc.inputs.contains_key(name)
            || acc.params.contains(name)
            || first.get(name).and_then(|e| subject(e)).is_some_and(|(_, sp)| sp.start < lc.body.0);
        let bound_in_body = effects.iter().any(|e| matches!(e, Effect::Bind { .. }));
        let written = walk.writes.contains_key(&(Unit::Step(s), name.to_string()));
        if outer && (bound_in_body || written) {
            let at = effects
                .iter()
                .find(|e| !matches!(e, Effect::Read { .. }))
                .or(effects.first())
                .and_then(|e| subject(e))
                .map_or(lc.header, |(_, sp)| sp);
            if reported.insert(name) {
                diags.push(err(
                    format!("the loop changes `{name}`, which exists before it: the pipeline runs each item apart, so no item would see another's change"),
                    at,
                    "make a new value in the body and append it to a list made empty before the loop".into(),
                ));
            }
            continue;
        }
        if !outer {
            let first_read = effects.iter().find(|e| matches!(e, Effect::Read { .. }));
            let first_bind = effects.iter().find(|e| matches!(e, Effect::Bind { .. }));
            if let (Some(r), Some(b)) = (first_read, first_bind) {
                let (Some((_, rs)), Some((_, bs))) = (subject(r), subject(b)) else { continue };
                if rs.start < bs.start {
                    diags.push(err(
                        format!("the loop body reads `{name}` before binding it: in the notebook it would hold the previous item's value"),
                        rs,
                        format!("bind `{name}` before reading it in the body"),
                    ));
                } else if !lc.simple_statements.iter().any(|(a, z)| bs.start >= *a && bs.start < *z) {
                    diags.push(
                        Diagnostic::warning(
                            "fan-out",
                            format!("`{name}` is bound only on some paths in the loop body: an item that does not bind it fails in the pipeline, where the notebook would use the previous item's value"),
                        )
                        .in_cell(cell)
                        .at(bs)
                        .with_hint(format!("give `{name}` a value at the start of the body")),
                    );
                }
            }
        }
    }
    if walk.writes.contains_key(&(Unit::Step(s), list.to_string())) {
        diags.push(err(
            format!("the loop changes the items of `{list}`: the pipeline runs each item apart, on its own copy"),
            lc.header,
            "make new values from the items and append them to a list made empty before the loop".into(),
        ));
    }
    // Hidden state: the global generators, process settings, files.
    for (unit, variable) in walk.writes.keys() {
        if *unit == Unit::Step(s) && variable.starts_with('@') && reported.insert(variable.as_str()) {
            diags.push(err(
                format!("the loop changes {}: the pipeline runs each item apart, in its own process, so each would start from the state before the loop", display_variable(variable)),
                lc.header,
                "make it in each item from the item (seed a generator from it, for example), or move it out of the loop".into(),
            ));
        }
    }
}

/// Later steps may read only the lists the loop appends to.
fn check_outputs(layout: &Layout, walk: &Walk, s: usize, accumulators: &[String], diags: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    for r in walk.routes.iter().filter(|r| r.producer == s && r.consumer != s) {
        if accumulators.contains(&r.variable) || !seen.insert((r.variable.clone(), r.reader_cell)) {
            continue;
        }
        let name = &layout.steps[s].name;
        diags.push(
            Diagnostic::error(
                "fan-out",
                format!(
                    "this reads {}, which the loop of `for:` step `{name}` binds: after the loop the notebook holds the last item's value, but the pipeline runs the items apart",
                    display_variable(&r.variable)
                ),
            )
            .in_cell(r.reader_cell)
            .at(r.span)
            .with_hint("collect it: make a list empty before the loop and append to it in the body; then read the list"),
        );
    }
}
