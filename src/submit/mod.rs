//! Reaching a Kubeflow Pipelines installation: the HTTP layer ([`http`]), the v2beta1 REST
//! client ([`api`]), connection profiles ([`config`]).

pub mod api;
pub mod config;
pub mod http;
