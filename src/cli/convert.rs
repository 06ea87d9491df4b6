//! `nbkf convert`: a notebook in, KFP IR YAML out.

use std::path::Path;
use std::process::ExitCode;

use nbkf::config::Overrides;
use nbkf::{diagnostics, ConvertOptions, PreambleMode};

use super::{io_error, plural, usage_error, write_output, ConvertArgs, Packages};

pub fn convert(args: ConvertArgs, color: bool) -> ExitCode {
    if let Some(name) = &args.pipeline_name {
        if !nbkf::config::is_pipeline_name(name) {
            return usage_error(&format!(
                "invalid pipeline name `{name}`: use lower-case letters, digits and `-`, starting with a letter or digit (e.g. `{}`)",
                nbkf::config::pipeline_name_from(name)
            ));
        }
    }
    let module_paths = match super::module_paths(&args.module_path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = ConvertOptions {
        overrides: Overrides {
            pipeline_name: args.pipeline_name,
            experiment: args.experiment,
            base_image: args.image,
            description: args.description,
            ipython: args.ipython,
        },
        preamble: match args.packages {
            Packages::Pip => PreambleMode::Pip,
            Packages::Image => PreambleMode::Image,
        },
        split: args.split.into(),
        module_paths,
    };
    let started = std::time::Instant::now();
    let conversion = match nbkf::convert_file(&args.notebook, &options) {
        Ok(c) => c,
        Err(e) => return io_error(&e.to_string()),
    };
    let file = args.notebook.display().to_string();
    let shown: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error() || !args.quiet).cloned().collect();
    eprint!("{}", diagnostics::render(&shown, Some(&conversion.notebook), &file, color));
    let errors = conversion.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = conversion.diagnostics.len() - errors;
    let Some(yaml) = conversion.yaml else {
        eprintln!("error: {file} has {errors} error{}; no pipeline was written", plural(errors));
        return ExitCode::from(1);
    };
    let output = match args.output {
        Some(p) => p,
        None => args
            .notebook
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{}.pipeline.yaml", conversion.plan.settings.name)),
    };
    if let Err(code) = write_output(&output, yaml.as_bytes()) {
        return code;
    }
    if !args.quiet {
        let steps = conversion.plan.steps.len();
        let target =
            if output.as_os_str() == "-" { "standard output".to_string() } else { output.display().to_string() };
        eprintln!(
            "converted {file} into pipeline `{}`: {steps} step{}, {} parameter{}, {warnings} warning{} ({} ms) -> {target}",
            conversion.plan.settings.name,
            plural(steps),
            conversion.plan.parameters.len(),
            plural(conversion.plan.parameters.len()),
            plural(warnings),
            started.elapsed().as_millis(),
        );
    }
    ExitCode::SUCCESS
}
