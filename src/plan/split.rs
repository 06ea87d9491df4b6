//! Automatic steps for notebooks without step tags (most notebooks in the wild): split at
//! markdown headings, or by the dataflow, or one step per cell. The result is a set of
//! Kale tags (`step:<name>`, `imports`) for the notebook's cells, so that converting the
//! untagged notebook and converting it after `nbkf tag` wrote those tags give the same
//! pipeline.

use std::collections::{BTreeSet, HashSet};

use crate::notebook::{CellKind, Notebook};
use crate::python::{self, Effect};
use crate::tags::{self, Role};

/// How a notebook without `step:` tags becomes steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// Headings when they give at least two sections with code, else groups of cells that
    /// depend on each other, else (for tiny notebooks) one step.
    #[default]
    Auto,
    /// At markdown headings (one step when there are none).
    Headings,
    /// One step per code cell.
    Cells,
    /// One step for the whole notebook.
    None,
}

/// Notebooks without headings and with fewer code cells than this stay one step in `auto`
/// mode.
const TINY: usize = 3;

/// The tags nbkf infers: for each code cell whose tags change, its complete new tag list.
/// `None` when the notebook already has step tags (they are the user's split) or the
/// mode gives a single step.
pub fn inferred_tags(notebook: &Notebook, mode: SplitMode) -> Option<Vec<(usize, Vec<String>)>> {
    let roles: Vec<(usize, Role)> = notebook.code_cells().map(|c| (c.index, tags::parse_cell_tags(c).0.role)).collect();
    if roles.iter().any(|(_, r)| matches!(r, Role::Step(_))) || mode == SplitMode::None {
        return None;
    }
    // Cells with another role keep it; untagged ones are the candidates.
    let free: Vec<usize> = roles.iter().filter(|(_, r)| *r == Role::Continue).map(|(i, _)| *i).collect();
    let imports: Vec<usize> = free.iter().copied().filter(|i| is_imports_only(&notebook.cells[*i].source)).collect();
    let code: Vec<usize> = free.iter().copied().filter(|i| !imports.contains(i)).collect();
    if code.is_empty() {
        return None;
    }
    let starts: Vec<(usize, String)> = match mode {
        SplitMode::Cells => code.iter().enumerate().map(|(n, c)| (*c, format!("step_{}", n + 1))).collect(),
        SplitMode::Headings => headings_split(notebook, &code).unwrap_or_default(),
        SplitMode::Auto => headings_split(notebook, &code).unwrap_or_else(|| {
            if code.len() < TINY {
                Vec::new()
            } else {
                dataflow_split(notebook, &code)
            }
        }),
        SplitMode::None => Vec::new(),
    };
    if starts.len() < 2 {
        // One step: no tags (an `imports` tag would make the cells after it continue the
        // imports, leaving no step).
        return None;
    }
    let mut taken = BTreeSet::new();
    let starts: Vec<(usize, String)> = starts.iter().map(|(c, n)| (*c, unique(n, &mut taken))).collect();
    let mut out = Vec::new();
    {
        let mut current: Option<&str> = None;
        let mut after_imports = false;
        for cell in free.iter().copied() {
            if imports.contains(&cell) {
                after_imports = true;
                continue;
            }
            if let Some((_, name)) = starts.iter().find(|(c, _)| *c == cell) {
                current = Some(name);
            } else if !after_imports {
                continue;
            }
            // A step's first cell is tagged; so is a cell right after an `imports` cell,
            // which would otherwise continue the imports (Kale's rule).
            if let Some(name) = current {
                let mut tags = notebook.cells[cell].tags.clone();
                tags.push(format!("step:{name}"));
                out.push((cell, tags));
            }
            after_imports = false;
        }
    }
    for cell in imports {
        let mut tags = notebook.cells[cell].tags.clone();
        tags.push("imports".into());
        out.push((cell, tags));
    }
    out.sort();
    Some(out)
}

/// A copy of the notebook with the inferred tags applied.
pub fn with_tags(notebook: &Notebook, tags: &[(usize, Vec<String>)]) -> Notebook {
    let mut nb = notebook.clone();
    for (cell, t) in tags {
        nb.cells[*cell].tags = t.clone();
    }
    nb
}

/// A cell holding only import statements (and comments): Kale's `imports` cell.
fn is_imports_only(source: &str) -> bool {
    let mut any = false;
    for line in source.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if (t.starts_with("import ") || t.starts_with("from ")) && !t.ends_with('\\') && !t.contains('(') {
            any = true;
        } else {
            return false;
        }
    }
    any
}

/// The markdown headings: (cell index, level, text).
fn headings(notebook: &Notebook) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for cell in notebook.cells.iter().filter(|c| c.kind == CellKind::Markdown) {
        let mut in_fence = false;
        for line in cell.source.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            let level = line.chars().take_while(|c| *c == '#').count();
            if !in_fence && (1..=6).contains(&level) && line[level..].starts_with(' ') {
                let text = line[level..].trim().trim_end_matches('#').trim().to_string();
                if !text.is_empty() {
                    out.push((cell.index, level, text));
                }
            }
        }
    }
    out
}

/// Splits at the headings of the coarsest level that gives at least two sections with
/// code. Code before the first heading joins the first section.
fn headings_split(notebook: &Notebook, code: &[usize]) -> Option<Vec<(usize, String)>> {
    let all = headings(notebook);
    for level in 1..=6 {
        let cuts: Vec<&(usize, usize, String)> = all.iter().filter(|(_, l, _)| *l <= level).collect();
        let mut starts: Vec<(usize, String)> = Vec::new();
        for (i, (cell, _, text)) in cuts.iter().enumerate() {
            let end = cuts.get(i + 1).map_or(usize::MAX, |next| next.0);
            if let Some(first) = code.iter().find(|c| **c > *cell && **c < end) {
                // Several headings before the same code cell: the last one names it.
                starts.retain(|(c, _)| c != first);
                starts.push((*first, name_from(text)));
            }
        }
        if starts.len() >= 2 {
            // The first section starts at the first code cell.
            if let (Some(first_code), Some(first)) = (code.first(), starts.first_mut()) {
                first.0 = *first_code;
            }
            starts.dedup_by_key(|(c, _)| *c);
            return Some(starts);
        }
    }
    None
}

/// Without headings: a new group starts at a cell that uses nothing the current group
/// binds (independent work, which can run in parallel).
fn dataflow_split(notebook: &Notebook, code: &[usize]) -> Vec<(usize, String)> {
    let mut starts = Vec::new();
    let mut bound: HashSet<String> = HashSet::new();
    for &cell in code {
        let facts = python::analyze_cell(&notebook.cells[cell].source);
        let reads: HashSet<&str> = facts
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Read { name, .. } | Effect::Mutate { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if starts.is_empty() || !reads.iter().any(|r| bound.contains(*r)) {
            starts.push((cell, format!("step_{}", starts.len() + 1)));
            bound.clear();
        }
        for e in &facts.effects {
            if let Effect::Bind { name, .. } = e {
                bound.insert(name.clone());
            }
        }
    }
    if starts.len() < 2 {
        Vec::new()
    } else {
        starts
    }
}

/// Longest step name made from a heading.
const MAX_NAME: usize = 40;

/// A Kale step name from heading text: lower-case letters, digits and `_`, starting with
/// a letter (Kale's `[_a-z][_a-z0-9]*`), at most [`MAX_NAME`] characters, cut between
/// words (a single longer word is cut).
fn name_from(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut out = String::new();
    for word in &words {
        let needed = if out.is_empty() { word.len() } else { out.len() + 1 + word.len() };
        if needed > MAX_NAME {
            if out.is_empty() {
                out = word[..MAX_NAME].to_string();
            }
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(word);
    }
    match out.chars().next() {
        None => "section".into(),
        Some(c) if c.is_ascii_digit() => format!("s{out}"),
        Some(_) => out,
    }
}

fn unique(name: &str, taken: &mut BTreeSet<String>) -> String {
    if taken.insert(name.to_string()) {
        return name.to_string();
    }
    (2..).map(|n| format!("{name}_{n}")).find(|c| taken.insert(c.clone())).expect("a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(cells: &[(CellKind, &str, &[&str])]) -> Notebook {
        crate::notebook::test_notebook(cells)
    }
    use CellKind::{Code as C, Markdown as M};

    #[test]
    fn splits_at_the_coarsest_useful_heading_level() {
        let n = nb(&[
            (M, "# Title", &[]),
            (C, "import pandas as pd", &[]),
            (C, "x = 1", &[]),
            (M, "## Load the data", &[]),
            (C, "y = x + 1", &[]),
            (M, "### detail", &[]),
            (C, "z = y", &[]),
            (M, "## Train: the model!", &[]),
            (C, "w = z", &[]),
        ]);
        let tags = inferred_tags(&n, SplitMode::Auto).unwrap();
        assert_eq!(
            tags,
            vec![
                (1, vec!["imports".to_string()]),
                (2, vec!["step:title".to_string()]),
                (4, vec!["step:load_the_data".to_string()]),
                (8, vec!["step:train_the_model".to_string()]),
            ]
        );
    }

    #[test]
    fn duplicate_headings_get_unique_names_and_tagged_notebooks_are_left_alone() {
        let n = nb(&[(M, "## Plot", &[]), (C, "a = 1", &[]), (M, "## Plot", &[]), (C, "b = a", &[])]);
        let tags = inferred_tags(&n, SplitMode::Auto).unwrap();
        assert_eq!(tags[1].1, vec!["step:plot_2"]);
        let tagged = nb(&[(C, "a = 1", &["step:x"]), (C, "b = a", &[])]);
        assert_eq!(inferred_tags(&tagged, SplitMode::Auto), None);
    }

    #[test]
    fn without_headings_independent_work_becomes_separate_steps() {
        let n = nb(&[(C, "a = 1", &[]), (C, "b = a + 1", &[]), (C, "c = 5", &[]), (C, "d = c * 2", &[])]);
        let tags = inferred_tags(&n, SplitMode::Auto).unwrap();
        assert_eq!(tags, vec![(0, vec!["step:step_1".to_string()]), (2, vec!["step:step_2".to_string()])]);
        assert_eq!(inferred_tags(&nb(&[(C, "a = 1", &[]), (C, "b = 2", &[])]), SplitMode::Auto), None, "tiny");
        assert_eq!(inferred_tags(&n, SplitMode::Cells).unwrap().len(), 4);
        assert_eq!(inferred_tags(&n, SplitMode::None), None);
    }

    #[test]
    fn step_names_follow_kales_rule() {
        assert_eq!(name_from("1. Load the Data (CSV)"), "s1_load_the_data_csv");
        assert_eq!(name_from("¿Qué?"), "qu");
        assert_eq!(name_from("***"), "section");
        // Long headings are cut between words, never inside one.
        assert_eq!(
            name_from("Prepare the data for machine learning algorithms"),
            "prepare_the_data_for_machine_learning"
        );
        assert_eq!(name_from(&"x".repeat(50)), "x".repeat(40));
    }
}
