//! `nbkf convert`: a notebook in, KFP IR YAML (or Kubernetes-native KFP manifests) out;
//! and loading the pipeline of the commands that take a notebook or a YAML (`submit`,
//! `apply`).

use std::path::Path;
use std::process::ExitCode;

use nbkf::config::Overrides;
use nbkf::emit::file::PipelineFile;
use nbkf::{diagnostics, Conversion, ConvertOptions, PreambleMode};

use super::{io_error, plural, usage_error, write_output, ConversionArgs, ConvertArgs, Packages, PipelineFormat};

/// The library's options from the conversion flags (checks the pipeline name and the
/// module folders).
pub fn conversion_options(args: &ConversionArgs) -> Result<ConvertOptions, ExitCode> {
    if let Some(name) = &args.pipeline_name {
        if !nbkf::config::is_pipeline_name(name) {
            return Err(usage_error(&format!(
                "invalid pipeline name `{name}`: use lower-case letters, digits and `-`, starting with a letter or digit (e.g. `{}`)",
                nbkf::config::pipeline_name_from(name)
            )));
        }
    }
    Ok(ConvertOptions {
        overrides: Overrides {
            pipeline_name: args.pipeline_name.clone(),
            experiment: args.experiment.clone(),
            base_image: args.image.clone(),
            description: args.description.clone(),
            ipython: args.ipython,
        },
        preamble: match args.packages.unwrap_or(Packages::Pip) {
            Packages::Pip => PreambleMode::Pip,
            Packages::Image => PreambleMode::Image,
        },
        split: args.split.unwrap_or_default().into(),
        module_paths: super::module_paths(&args.module_path)?,
        notebook_root: None,
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

/// A pipeline to send somewhere: a notebook converted here (its problems printed), or a
/// pipeline YAML read as it is.
pub struct LoadedPipeline {
    /// The YAML, as it will be sent.
    pub yaml: String,
    pub file: PipelineFile,
    /// The notebook's or YAML's file name.
    pub source: String,
    /// Whether it was converted from a notebook here.
    pub from_notebook: bool,
    /// For a notebook: each KFP task and the step and cells it comes from, to point a
    /// message about a task at the notebook.
    pub tasks: Vec<(String, String)>,
}

impl LoadedPipeline {
    /// `message` with the tasks it names pointed at the notebook's steps and cells.
    pub fn locate(&self, message: &str) -> String {
        let named: Vec<&str> = self
            .tasks
            .iter()
            .filter(|(task, _)| {
                message.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|word| {
                    word == task || word.strip_prefix("comp-").or_else(|| word.strip_prefix("exec-")) == Some(task)
                })
            })
            .map(|(_, place)| place.as_str())
            .collect();
        if named.is_empty() {
            format!("{message} (the pipeline from {})", self.source)
        } else {
            format!("{message} (in {} of {})", named.join("; "), self.source)
        }
    }
}

/// Loads `target`: a notebook is converted with `conversion`'s flags (warnings shown
/// unless `quiet`); anything else is read as a pipeline YAML, and then a flag that only
/// changes how a notebook is converted is refused rather than ignored. `experiment_used`
/// says whether the command uses `--experiment` for a YAML too (`submit` does).
pub fn load_pipeline(
    target: &Path,
    conversion: &ConversionArgs,
    experiment_used: bool,
    quiet: bool,
    color: bool,
) -> Result<LoadedPipeline, ExitCode> {
    let shown_name = target.display().to_string();
    let source = target.file_name().map_or_else(|| shown_name.clone(), |n| n.to_string_lossy().into_owned());
    let mut tasks = Vec::new();
    let from_notebook = target.extension().is_some_and(|e| e == "ipynb");
    let yaml = if from_notebook {
        let options = conversion_options(conversion)?;
        let (c, yaml) = convert_notebook(target, &options, quiet, color)?;
        for step in &c.plan.steps {
            let cells: Vec<usize> = step.cells.iter().map(|c| c + 1).collect();
            tasks.push((step.task.clone(), format!("step `{}`, cells {}", step.name, nbkf::plan::cell_ranges(&cells))));
        }
        yaml
    } else {
        let flag = conversion
            .notebook_only_flag()
            .or_else(|| (!experiment_used && conversion.experiment.is_some()).then_some("--experiment"));
        if let Some(flag) = flag {
            return Err(usage_error(&format!(
                "`{flag}` changes how a notebook is converted; {shown_name} is a pipeline YAML already (convert the notebook again instead)"
            )));
        }
        std::fs::read_to_string(target).map_err(|e| io_error(&format!("cannot read {shown_name}: {e}")))?
    };
    let file = PipelineFile::parse(&yaml).map_err(|e| usage_error(&format!("{shown_name}: {e}")))?;
    Ok(LoadedPipeline { yaml, file, source, from_notebook, tasks })
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
    let name = &conversion.plan.settings.name;
    let default_file = match args.format {
        PipelineFormat::Ir => format!("{name}.pipeline.yaml"),
        PipelineFormat::K8s => format!("{name}.k8s.yaml"),
        PipelineFormat::Dsl => format!("{}_pipeline.py", name.replace('-', "_")),
    };
    let output = match args.output {
        Some(p) => p,
        None => args.notebook.parent().unwrap_or(Path::new(".")).join(default_file),
    };
    let text = match args.format {
        PipelineFormat::Ir => yaml,
        PipelineFormat::K8s => match super::kube::manifests_yaml(&yaml, args.namespace.as_deref()) {
            Ok(text) => text,
            Err(code) => return code,
        },
        PipelineFormat::Dsl => {
            let file = output.file_name().map_or_else(|| "pipeline.py".into(), |f| f.to_string_lossy().into_owned());
            let file = if output.as_os_str() == "-" { format!("{}_pipeline.py", name.replace('-', "_")) } else { file };
            match nbkf::emit::kfp_dsl(&conversion.plan, options.preamble, &file, &format!("{name}.pipeline.yaml")) {
                Ok(text) => text,
                Err(e) => return usage_error(&format!("{}: {e}", args.notebook.display())),
            }
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
