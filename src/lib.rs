//! nbkf: turn a Jupyter notebook into a Kubeflow Pipelines (KFP v2) pipeline that computes
//! what the notebook computes.
//!
//! The flow goes one way: [`notebook`] (parse) → [`tags`] and [`config`] (what the user
//! asked for) → [`python`] (what each cell does) → [`plan`] (steps, DAG, routed
//! variables, diagnostics) → [`emit`] (KFP IR YAML). [`convert`] runs it all.
//! [`diagnostics`] and [`names`] are leaves that every stage may use. After the flow,
//! [`run`] and [`check`] run a pipeline here, [`submit`] (the KFP REST API) and [`k8s`]
//! (Kubernetes-native KFP, the service proxy) take it to a cluster; [`graph`] draws it.

pub mod check;
pub mod config;
pub mod diagnostics;
pub mod emit;
pub mod graph;
pub mod k8s;
pub mod migrate;
pub mod names;
pub mod notebook;
pub mod output;
pub mod packages;
pub mod plan;
pub mod python;
pub mod run;
pub mod runtime;
pub mod serve;
pub mod submit;
pub mod tags;

mod convert;

pub use convert::{convert, convert_file, Conversion, ConvertError, ConvertOptions, PreambleMode};
pub use diagnostics::{Diagnostic, Severity};
pub use plan::SplitMode;
