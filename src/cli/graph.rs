//! `nbkf graph`: the pipeline drawn as SVG, Graphviz DOT or a Mermaid flowchart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use nbkf::graph::{self, Format};

use super::{usage_error, write_output, Split};

#[derive(clap::Args)]
pub struct GraphArgs {
    /// The notebook.
    pub notebook: PathBuf,
    /// Where to write the drawing; `-` for standard output.
    /// [default: <pipeline-name>.svg beside the notebook (.dot or .mmd with `--format`)]
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// `svg` (laid out by nbkf), `dot` (Graphviz) or `mermaid` (a flowchart for Markdown).
    /// [default: from the output's extension: .svg, .dot or .gv, .mmd or .mermaid; else svg]
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// How to split a notebook that has no `step:` tags into steps.
    #[arg(long, value_enum, default_value_t = Split::Auto)]
    pub split: Split,
    /// A folder to find the notebook's own modules in, after the notebook's folder
    /// (repeatable): their sources travel with the steps that import them.
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}

/// What `graph` writes.
#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    /// SVG laid out by nbkf.
    Svg,
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

impl From<GraphFormat> for Format {
    fn from(f: GraphFormat) -> Self {
        match f {
            GraphFormat::Svg => Format::Svg,
            GraphFormat::Dot => Format::Dot,
            GraphFormat::Mermaid => Format::Mermaid,
        }
    }
}

/// The format: `--format`, else the output's extension, else SVG. An extension that names
/// no format is refused rather than given SVG it does not promise.
fn format(args: &GraphArgs) -> Result<Format, ExitCode> {
    if let Some(f) = args.format {
        return Ok(f.into());
    }
    let Some(output) = args.output.as_deref().filter(|o| o.as_os_str() != "-") else { return Ok(Format::Svg) };
    match (Format::from_path(output), output.extension()) {
        (Some(f), _) => Ok(f),
        (None, None) => Ok(Format::Svg),
        (None, Some(extension)) => Err(usage_error(&format!(
            "cannot tell the drawing format from `.{}` ({}): use .svg, .dot, .gv, .mmd or .mermaid, or say `--format svg|dot|mermaid`",
            extension.to_string_lossy(),
            output.display()
        ))),
    }
}

pub fn graph(args: GraphArgs, color: bool) -> ExitCode {
    let format = match format(&args) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let conversion = match super::tag::conversion(&args.notebook, args.split, &args.module_path, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let summary = nbkf::plan::summary(&conversion.plan);
    let drawing = graph::draw(&summary, format);
    let output = args.output.clone().unwrap_or_else(|| {
        args.notebook.parent().unwrap_or(Path::new(".")).join(format!("{}.{}", summary.pipeline, format.extension()))
    });
    if let Err(code) = write_output(&output, drawing.as_bytes()) {
        return code;
    }
    if output.as_os_str() != "-" {
        eprintln!(
            "drew pipeline `{}` ({} step{}) -> {}",
            summary.pipeline,
            summary.steps.len(),
            super::plural(summary.steps.len()),
            output.display()
        );
    }
    ExitCode::SUCCESS
}
