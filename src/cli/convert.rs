//! `nbkf convert`: a notebook in, KFP IR YAML (or Kubernetes-native KFP manifests) out.

use std::path::Path;
use std::process::ExitCode;

use nbkf::config::Overrides;
use nbkf::{diagnostics, Conversion, ConvertOptions, PreambleMode};

use super::{io_error, plural, usage_error, write_output, ConversionFlags, ConvertArgs, Packages, PipelineFormat};

/// The library's options from the conversion flags (checks the pipeline name and the
/// module folders).
pub fn conversion_options(flags: &ConversionFlags) -> Result<ConvertOptions, ExitCode> {
    if let Some(name) = &flags.pipeline_name {
        if !nbkf::config::is_pipeline_name(name) {
            return Err(usage_error(&format!(
                "invalid pipeline name `{name}`: use lower-case letters, digits and `-`, starting with a letter or digit (e.g. `{}`)",
                nbkf::config::pipeline_name_from(name)
            )));
        }
    }
    Ok(ConvertOptions {
        overrides: Overrides {
            pipeline_name: flags.pipeline_name.clone(),
            experiment: flags.experiment.clone(),
            base_image: flags.image.clone(),
            description: flags.description.clone(),
            ipython: flags.ipython,
        },
        preamble: match flags.packages {
            Packages::Pip => PreambleMode::Pip,
            Packages::Image => PreambleMode::Image,
        },
        split: flags.split.into(),
        module_paths: super::module_paths(&flags.module_path)?,
    })
}

/// Converts a notebook and prints its diagnostics (errors only when `quiet`). Returns the
/// conversion and its YAML, or exit code 1 (after saying so) when it has errors.
pub fn convert_notebook(
    notebook: &Path,
    options: &ConvertOptions,
    quiet: bool,
    color: bool,
) -> Result<(Conversion, String), ExitCode> {
    let conversion = nbkf::convert_file(notebook, options).map_err(|e| io_error(&e.to_string()))?;
    let file = notebook.display().to_string();
    let shown: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error() || !quiet).cloned().collect();
    eprint!("{}", diagnostics::render(&shown, Some(&conversion.notebook), &file, color));
    match conversion.yaml.clone() {
        Some(yaml) => Ok((conversion, yaml)),
        None => {
            let errors = conversion.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("error: {file} has {errors} error{}; no pipeline was written", plural(errors));
            Err(ExitCode::from(1))
        }
    }
}

pub fn convert(args: ConvertArgs, color: bool) -> ExitCode {
    if args.namespace.is_some() && args.format != PipelineFormat::K8s {
        return usage_error("`--namespace` is written into Kubernetes manifests: use it with `--format k8s`");
    }
    let options = match conversion_options(&args.conversion) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let (conversion, yaml) = match convert_notebook(&args.notebook, &options, args.quiet, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (text, suffix) = match args.format {
        PipelineFormat::Ir => (yaml, "pipeline.yaml"),
        PipelineFormat::K8s => match super::kube::manifests_yaml(&yaml, args.namespace.as_deref()) {
            Ok(text) => (text, "k8s.yaml"),
            Err(code) => return code,
        },
    };
    let output = match args.output {
        Some(p) => p,
        None => {
            args.notebook.parent().unwrap_or(Path::new(".")).join(format!("{}.{suffix}", conversion.plan.settings.name))
        }
    };
    if let Err(code) = write_output(&output, text.as_bytes()) {
        return code;
    }
    if !args.quiet {
        let errors = conversion.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = conversion.diagnostics.len() - errors;
        let steps = conversion.plan.steps.len();
        let target =
            if output.as_os_str() == "-" { "standard output".to_string() } else { output.display().to_string() };
        eprintln!(
            "converted {} into pipeline `{}`: {steps} step{}, {} parameter{}, {warnings} warning{} ({} ms) -> {target}",
            args.notebook.display(),
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
