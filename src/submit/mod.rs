//! Reaching a Kubeflow Pipelines installation over its v2beta1 REST API: the HTTP layer
//! ([`http`]), the API client ([`api`]), where to connect and as whom ([`connection`],
//! with profiles from [`config`]), submitting a pipeline file ([`submission`]), following
//! a run ([`wait`]), and printing instead of sending ([`dry_run`]).

pub mod api;
pub mod config;
pub mod connection;
pub mod dry_run;
pub mod http;
pub mod submission;
pub mod wait;
