//! `nbkf plan` and `nbkf tag`: the plan for a person, and the plan written back into the
//! notebook as Kale tags.

use std::process::ExitCode;

use nbkf::{diagnostics, plan, Conversion, ConvertOptions};

use super::{io_error, usage_error, write_output, Format, PlanArgs, Split, TagArgs};

/// Converts (without writing anything) and prints the diagnostics; `None` on errors.
pub(super) fn conversion(
    path: &std::path::Path,
    split: Split,
    module_path: &[std::path::PathBuf],
    color: bool,
) -> Result<Conversion, ExitCode> {
    let options =
        ConvertOptions { split: split.into(), module_paths: super::module_paths(module_path)?, ..Default::default() };
    let conversion = nbkf::convert_file(path, &options).map_err(|e| io_error(&e.to_string()))?;
    let errors: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        eprint!("{}", diagnostics::render(&errors, Some(&conversion.notebook), &path.display().to_string(), color));
        eprintln!("error: {} has errors", path.display());
        return Err(ExitCode::from(1));
    }
    Ok(conversion)
}

pub fn plan(args: PlanArgs, color: bool) -> ExitCode {
    let conversion = match conversion(&args.notebook, args.split, &args.module_path, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match args.format {
        Format::Text => print!("{}", plan::summary_text(&conversion.plan)),
        Format::Json => match serde_json::to_string_pretty(&plan::summary(&conversion.plan)) {
            Ok(json) => println!("{json}"),
            Err(e) => return io_error(&format!("cannot write the plan: {e}")),
        },
    }
    ExitCode::SUCCESS
}

pub fn tag(args: TagArgs, color: bool) -> ExitCode {
    if !args.check && !args.in_place && args.output.is_none() {
        return usage_error(
            "say where the tagged notebook goes: `-o OUT.ipynb`, `-o -` or `--in-place` (or use `--check`)",
        );
    }
    let conversion = match conversion(&args.notebook, args.split, &args.module_path, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let changes = plan::kale_tags(&conversion.plan, &conversion.notebook, conversion.inferred_tags.as_deref());
    if args.check {
        if changes.is_empty() {
            eprintln!("the tags of {} match the plan", args.notebook.display());
            return ExitCode::SUCCESS;
        }
        for (cell, tags) in &changes {
            let old = {
                use nbkf::diagnostics::CellSources;
                let n = &conversion.notebook;
                n.located(None, *cell).map(|i| n.written_tags(i).to_vec()).unwrap_or_default()
            };
            let added: Vec<&String> = tags.iter().filter(|t| !old.contains(t)).collect();
            let removed: Vec<&String> = old.iter().filter(|t| !tags.contains(t)).collect();
            let show = |v: &[&String]| v.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
            let mut line = format!("cell {}:", cell + 1);
            if !added.is_empty() {
                line.push_str(&format!(" add {}", show(&added)));
            }
            if !removed.is_empty() {
                line.push_str(&format!(" remove {}", show(&removed)));
            }
            println!("{line}");
        }
        eprintln!(
            "the tags of {} do not match the plan ({} cell(s) differ); `nbkf tag --in-place` writes them",
            args.notebook.display(),
            changes.len()
        );
        return ExitCode::from(1);
    }
    let raw = match std::fs::read_to_string(&args.notebook) {
        Ok(r) => r,
        Err(e) => return io_error(&format!("cannot read {}: {e}", args.notebook.display())),
    };
    let tagged = match nbkf::notebook::edit::set_cell_tags(&raw, &changes) {
        Ok(t) => t,
        Err(e) => return io_error(&format!("cannot edit {}: {e}", args.notebook.display())),
    };
    let target = if args.in_place { args.notebook.clone() } else { args.output.clone().unwrap_or_default() };
    if let Err(code) = write_output(&target, tagged.as_bytes()) {
        return code;
    }
    eprintln!(
        "tagged {} cell(s) of {} for {} step(s) -> {}",
        changes.len(),
        args.notebook.display(),
        conversion.plan.steps.len(),
        if target.as_os_str() == "-" { "standard output".into() } else { target.display().to_string() }
    );
    ExitCode::SUCCESS
}
