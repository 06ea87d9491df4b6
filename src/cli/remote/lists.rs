//! `nbkf runs`, `nbkf experiments`, `nbkf pipelines`: what is on the KFP installation, as
//! a table for people or the server's objects as JSON for programs.

use std::process::ExitCode;

use comfy_table::{presets::NOTHING, ContentArrangement, Table};
use serde_json::Value;

use nbkf::submit::api::items;
use nbkf::submit::submission::run_url;
use nbkf::submit::wait::{task_states, TERMINAL};

use super::submit::{end_json, follow, report_end};
use super::{
    check_namespace, connect, kfp_error, ConnectionArgs, ExperimentsCommand, PipelinesCommand, RunsCommand, Shape,
    WaitArgs,
};

#[derive(clap::Args)]
pub struct ListArgs {
    /// At most this many (the newest first where the server sorts by time).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t = Shape::Table)]
    pub format: Shape,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(clap::Args)]
pub struct RunsListArgs {
    /// Only the runs of this experiment (by name).
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(clap::Args)]
pub struct VersionsArgs {
    /// The pipeline's name.
    pub pipeline: String,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The run's id.
    pub run_id: String,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[arg(long, value_enum, default_value_t = Shape::Table)]
    pub format: Shape,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING).set_content_arrangement(ContentArrangement::Dynamic).set_header(header.to_vec());
    t
}

/// The table as kubectl prints one: columns two spaces apart, no borders.
fn show(mut t: Table) {
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    println!("{}", t.trim_fmt());
}

fn field(v: &Value, key: &str) -> String {
    match &v[key] {
        // The server writes unset times as the epoch.
        Value::String(s) if s.starts_with("1970-01-01T00:00:00") => String::new(),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Prints a list: a table of `columns` (header, key), or the objects as JSON.
fn print_list(answer: &Value, key: &str, shape: Shape, columns: &[(&str, &str)], what: &str) {
    let list = items(answer, key);
    match shape {
        Shape::Json => println!("{}", serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_default()),
        Shape::Table if list.is_empty() => eprintln!("no {what}"),
        Shape::Table => {
            let mut t = table(&columns.iter().map(|(h, _)| *h).collect::<Vec<_>>());
            for item in &list {
                t.add_row(columns.iter().map(|(_, k)| field(item, k)).collect::<Vec<_>>());
            }
            show(t);
            if answer["next_page_token"].as_str().is_some_and(|s| !s.is_empty()) {
                eprintln!("(more {what} than shown: raise `--limit`)");
            }
        }
    }
}

pub fn runs(command: RunsCommand) -> ExitCode {
    match command {
        RunsCommand::List(args) => runs_list(args),
        RunsCommand::Get(args) => run_get(args),
        RunsCommand::Terminate(args) => run_control(args, true),
        RunsCommand::Retry(args) => run_control(args, false),
    }
}

fn runs_list(args: RunsListArgs) -> ExitCode {
    let (kfp, _) = match connect(&args.list.connection) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = check_namespace(&kfp) {
        return code;
    }
    let experiment_id = match &args.experiment {
        Some(name) => match kfp.experiment_by_name(name) {
            Ok(Some(e)) => Some(field(&e, "experiment_id")),
            Ok(None) => {
                eprintln!("error: there is no experiment `{name}`{}", in_namespace(&kfp.namespace));
                return ExitCode::from(1);
            }
            Err(e) => return kfp_error(&e),
        },
        None => None,
    };
    match kfp.list_runs(experiment_id.as_deref(), args.list.limit) {
        Ok(answer) => {
            let columns = [
                ("RUN ID", "run_id"),
                ("NAME", "display_name"),
                ("STATE", "state"),
                ("CREATED", "created_at"),
                ("FINISHED", "finished_at"),
            ];
            print_list(&answer, "runs", args.list.format, &columns, "runs");
            ExitCode::SUCCESS
        }
        Err(e) => kfp_error(&e),
    }
}

fn in_namespace(ns: &Option<String>) -> String {
    ns.as_ref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default()
}

fn run_get(args: RunArgs) -> ExitCode {
    let (kfp, conn) = match connect(&args.connection) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.wait.wait {
        return wait_for(&kfp, &args, false);
    }
    let run = match kfp.get_run(&args.run_id) {
        Ok(r) => r,
        Err(e) => return kfp_error(&e),
    };
    if args.format == Shape::Json {
        println!("{}", serde_json::to_string_pretty(&run).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    for (label, key) in [
        ("run id", "run_id"),
        ("name", "display_name"),
        ("state", "state"),
        ("experiment", "experiment_id"),
        ("created", "created_at"),
        ("finished", "finished_at"),
    ] {
        let value = field(&run, key);
        if !value.is_empty() {
            println!("{label:<11} {value}");
        }
    }
    let version = &run["pipeline_version_reference"];
    if version.is_object() {
        println!(
            "{:<11} {} version {}",
            "pipeline",
            field(version, "pipeline_id"),
            field(version, "pipeline_version_id")
        );
    }
    if let Some(ui) = &conn.ui {
        println!("{:<11} {}", "run page", run_url(ui, &args.run_id));
    }
    if let Some(m) = run["error"]["message"].as_str().filter(|m| !m.is_empty()) {
        println!("{:<11} {m}", "error");
    }
    let tasks = task_states(&run, &[]);
    if !tasks.is_empty() {
        let mut t = table(&["TASK", "STATE", "ERROR"]);
        for (name, (state, error)) in tasks {
            t.add_row(vec![name, state, error.unwrap_or_default()]);
        }
        show(t);
    }
    ExitCode::SUCCESS
}

fn run_control(args: RunArgs, terminate: bool) -> ExitCode {
    let (kfp, _) = match connect(&args.connection) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = if terminate { kfp.terminate_run(&args.run_id) } else { kfp.retry_run(&args.run_id) };
    if let Err(e) = result {
        // Refused for the run's state: say which state.
        let state = match e.status() {
            Some(400 | 409) => kfp.get_run(&args.run_id).ok().and_then(|r| r["state"].as_str().map(str::to_string)),
            _ => None,
        };
        let code = kfp_error(&e);
        match state.as_deref() {
            Some(s) if terminate && TERMINAL.contains(&s) => {
                eprintln!("  the run has already ended ({s}): there is nothing to stop")
            }
            Some(s) if !terminate && !matches!(s, "FAILED" | "CANCELED") => {
                eprintln!("  the run is {s}: only a failed or canceled run can be retried")
            }
            _ => {}
        }
        return code;
    }
    eprintln!("run {}: {}", args.run_id, if terminate { "asked to stop" } else { "retrying its unfinished tasks" });
    if args.wait.wait {
        return wait_for(&kfp, &args, terminate);
    }
    ExitCode::SUCCESS
}

/// Follows the run to its end; `stopping` after asking it to stop, when any end is what
/// was asked for (KFP marks a terminated run CANCELED, or FAILED where Argo reports the
/// stopped workflow as failed).
fn wait_for(kfp: &nbkf::submit::api::Kfp, args: &RunArgs, stopping: bool) -> ExitCode {
    let options = match args.wait.options() {
        Ok(o) => o,
        Err(code) => return code,
    };
    match follow(kfp, &args.run_id, &[], options, args.format == Shape::Json) {
        Ok(end) => {
            if args.format == Shape::Json {
                println!("{}", serde_json::to_string_pretty(&end_json(&end)).unwrap_or_default());
            }
            if stopping && !end.timed_out {
                eprintln!("run {} stopped: {}", args.run_id, end.state);
                ExitCode::SUCCESS
            } else {
                report_end(&end, &args.run_id)
            }
        }
        Err(e) => kfp_error(&e),
    }
}

pub fn experiments(command: ExperimentsCommand) -> ExitCode {
    let ExperimentsCommand::List(args) = command;
    let (kfp, _) = match connect(&args.connection) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = check_namespace(&kfp) {
        return code;
    }
    match kfp.list_experiments(args.limit) {
        Ok(answer) => {
            let columns = [
                ("EXPERIMENT ID", "experiment_id"),
                ("NAME", "display_name"),
                ("CREATED", "created_at"),
                ("NAMESPACE", "namespace"),
            ];
            print_list(&answer, "experiments", args.format, &columns, "experiments");
            ExitCode::SUCCESS
        }
        Err(e) => kfp_error(&e),
    }
}

pub fn pipelines(command: PipelinesCommand) -> ExitCode {
    match command {
        PipelinesCommand::List(args) => {
            let (kfp, _) = match connect(&args.connection) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match kfp.list_pipelines(args.limit) {
                Ok(answer) => {
                    let columns = [
                        ("PIPELINE ID", "pipeline_id"),
                        ("NAME", "name"),
                        ("CREATED", "created_at"),
                        ("DESCRIPTION", "description"),
                    ];
                    print_list(&answer, "pipelines", args.format, &columns, "pipelines");
                    ExitCode::SUCCESS
                }
                Err(e) => kfp_error(&e),
            }
        }
        PipelinesCommand::Versions(args) => {
            let (kfp, _) = match connect(&args.list.connection) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let pipeline = match kfp.pipeline_by_name(&args.pipeline) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    eprintln!("error: there is no pipeline `{}`{}", args.pipeline, in_namespace(&kfp.namespace));
                    return ExitCode::from(1);
                }
                Err(e) => return kfp_error(&e),
            };
            match kfp.list_versions(&field(&pipeline, "pipeline_id"), args.list.limit) {
                Ok(answer) => {
                    let columns = [
                        ("VERSION ID", "pipeline_version_id"),
                        ("NAME", "name"),
                        ("CREATED", "created_at"),
                        ("DESCRIPTION", "description"),
                    ];
                    print_list(&answer, "pipeline_versions", args.list.format, &columns, "versions");
                    ExitCode::SUCCESS
                }
                Err(e) => kfp_error(&e),
            }
        }
    }
}
