//! The parts of KFP's pipeline IR (`PipelineSpec`, schema 2.1.0) and of kfp-kubernetes'
//! `PlatformSpec` that nbkf writes, as serde types. Field names are the protobuf JSON
//! names; fields are declared in alphabetical order so the YAML comes out sorted, as the
//! KFP SDK writes it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// Document 1: the pipeline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    pub components: BTreeMap<String, ComponentSpec>,
    pub deployment_spec: DeploymentSpec,
    pub pipeline_info: PipelineInfo,
    pub root: ComponentSpec,
    pub schema_version: &'static str,
    pub sdk_version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub name: String,
}

/// A component: a step (with an executor) or the root DAG.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dag: Option<Dag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    #[serde(skip_serializing_if = "Definitions::is_empty")]
    pub input_definitions: Definitions,
    #[serde(skip_serializing_if = "Definitions::is_empty")]
    pub output_definitions: Definitions,
}

/// Inputs or outputs of a component.
#[derive(Debug, Default, Serialize)]
pub struct Definitions {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParameterSpec>,
}

impl Definitions {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    pub artifact_type: ArtifactType,
    /// A list of artifacts (`dsl.Collected` of a loop's outputs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_artifact_list: bool,
}

impl ArtifactSpec {
    /// One artifact of the schema.
    pub fn of(schema_title: &'static str) -> Self {
        ArtifactSpec { artifact_type: ArtifactType::of(schema_title), is_artifact_list: false }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactType {
    pub schema_title: &'static str,
    pub schema_version: &'static str,
}

impl ArtifactType {
    pub fn of(schema_title: &'static str) -> Self {
        ArtifactType { schema_title, schema_version: "0.0.1" }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_optional: bool,
    pub parameter_type: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Dag {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<DagOutputs>,
    pub tasks: BTreeMap<String, Task>,
}

/// What a sub-DAG gives its parent: here, a loop's outputs, collected over its items.
#[derive(Debug, Serialize)]
pub struct DagOutputs {
    pub artifacts: BTreeMap<String, DagOutputArtifact>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DagOutputArtifact {
    pub artifact_selectors: Vec<ArtifactSelector>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSelector {
    pub output_artifact_key: String,
    pub producer_subtask: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// None for a task that runs a sub-DAG (the KFP SDK leaves it out there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    pub component_ref: ComponentRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependent_tasks: Vec<String>,
    #[serde(skip_serializing_if = "TaskInputs::is_empty")]
    pub inputs: TaskInputs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterator_policy: Option<IteratorPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_iterator: Option<ParameterIterator>,
    pub task_info: TaskInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
}

/// `dsl.ParallelFor(..., parallelism=n)`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorPolicy {
    pub parallelism_limit: u32,
}

/// A loop over a list parameter: each item is given to the sub-DAG as `item_input`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterIterator {
    pub item_input: String,
    pub items: IteratorItems,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorItems {
    pub input_parameter: String,
}

/// When a task runs: `ALL_UPSTREAM_TASKS_COMPLETED` (the exit step: also after failures);
/// left out, after its upstream tasks succeeded.
#[derive(Debug, Serialize)]
pub struct TriggerPolicy {
    pub strategy: &'static str,
}

/// `{enableCache: true}`, or `{}` for off (proto3 leaves out the default `false`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CachingOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_cache: bool,
}

#[derive(Debug, Serialize)]
pub struct ComponentRef {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct TaskInfo {
    pub name: String,
}

#[derive(Debug, Default, Serialize)]
pub struct TaskInputs {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactBinding>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParameterBinding>,
}

impl TaskInputs {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactBinding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_input_artifact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_output_artifact: Option<TaskOutputArtifact>,
}

impl ArtifactBinding {
    /// The output `key` of task `producer`.
    pub fn task(producer: impl Into<String>, key: impl Into<String>) -> Self {
        ArtifactBinding {
            component_input_artifact: None,
            task_output_artifact: Some(TaskOutputArtifact {
                output_artifact_key: key.into(),
                producer_task: producer.into(),
            }),
        }
    }

    /// The enclosing DAG's input artifact `name`.
    pub fn input(name: impl Into<String>) -> Self {
        ArtifactBinding { component_input_artifact: Some(name.into()), task_output_artifact: None }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputArtifact {
    pub output_artifact_key: String,
    pub producer_task: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterBinding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_input_parameter: Option<String>,
    /// The final status of a task (the exit step's view of the exit handler).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_final_status: Option<TaskFinalStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_output_parameter: Option<TaskOutputParameter>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinalStatus {
    pub producer_task: String,
}

impl ParameterBinding {
    /// The enclosing DAG's (or the pipeline's) input parameter `name`.
    pub fn input(name: impl Into<String>) -> Self {
        ParameterBinding {
            component_input_parameter: Some(name.into()),
            task_final_status: None,
            task_output_parameter: None,
        }
    }

    /// How task `producer` ended (`PipelineTaskFinalStatus`).
    pub fn final_status(producer: impl Into<String>) -> Self {
        ParameterBinding {
            component_input_parameter: None,
            task_final_status: Some(TaskFinalStatus { producer_task: producer.into() }),
            task_output_parameter: None,
        }
    }

    /// The output parameter `key` of task `producer`.
    pub fn task(producer: impl Into<String>, key: impl Into<String>) -> Self {
        ParameterBinding {
            component_input_parameter: None,
            task_final_status: None,
            task_output_parameter: Some(TaskOutputParameter {
                output_parameter_key: key.into(),
                producer_task: producer.into(),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputParameter {
    pub output_parameter_key: String,
    pub producer_task: String,
}

#[derive(Debug, Serialize)]
pub struct DeploymentSpec {
    pub executors: BTreeMap<String, Executor>,
}

#[derive(Debug, Serialize)]
pub struct Executor {
    pub container: Container,
}

#[derive(Debug, Serialize)]
pub struct Container {
    pub args: Vec<String>,
    pub command: Vec<String>,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// Container resources: the `resource*` Kubernetes quantity strings the backend prefers,
/// plus the deprecated numeric fields older backends read (as the KFP SDK writes both).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<Accelerator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_cpu_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_memory_limit: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accelerator {
    pub count: String,
    pub resource_count: String,
    pub resource_type: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Document 2: Kubernetes settings per executor (kfp-kubernetes format).
#[derive(Debug, Serialize)]
pub struct PlatformSpec {
    pub platforms: Platforms,
}

#[derive(Debug, Serialize)]
pub struct Platforms {
    pub kubernetes: KubernetesPlatform,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesPlatform {
    pub deployment_spec: KubernetesDeployment,
}

#[derive(Debug, Serialize)]
pub struct KubernetesDeployment {
    pub executors: BTreeMap<String, KubernetesExecutorConfig>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesExecutorConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<PodMetadata>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pvc_mount: Vec<PvcMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_as_env: Vec<SecretAsEnv>,
}

#[derive(Debug, Serialize)]
pub struct PodMetadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcMount {
    pub constant: String,
    pub mount_path: String,
    pub pvc_name_parameter: ConstantParameter,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAsEnv {
    pub key_to_env: Vec<KeyToEnv>,
    pub optional: bool,
    pub secret_name: String,
    pub secret_name_parameter: ConstantParameter,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyToEnv {
    pub env_var: String,
    pub secret_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstantParameter {
    pub runtime_value: RuntimeValue,
}

#[derive(Debug, Serialize)]
pub struct RuntimeValue {
    pub constant: Value,
}

impl ConstantParameter {
    pub fn of(text: &str) -> Self {
        ConstantParameter { runtime_value: RuntimeValue { constant: Value::String(text.to_string()) } }
    }
}
