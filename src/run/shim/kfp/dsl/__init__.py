"""The artifact types and annotations of `kfp.dsl` that nbkf's step programs use."""
import os
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Artifact", "Dataset", "Model", "Metrics", "HTML", "Markdown", "Input", "Output", "PipelineTaskFinalStatus"]


class Artifact:
    schema_title = "system.Artifact"

    def __init__(self, name="", uri="", metadata=None):
        self.name = name
        self.uri = uri
        self.metadata = dict(metadata or {})

    @property
    def path(self):
        for prefix, local in (("gs://", "/gcs/"), ("s3://", "/s3/"), ("minio://", "/minio/")):
            if self.uri.startswith(prefix):
                return local + self.uri[len(prefix):]
        return self.uri

    @path.setter
    def path(self, value):
        self.uri = value


class Dataset(Artifact):
    schema_title = "system.Dataset"


class Model(Artifact):
    schema_title = "system.Model"


class HTML(Artifact):
    schema_title = "system.HTML"


class Markdown(Artifact):
    schema_title = "system.Markdown"


class Metrics(Artifact):
    schema_title = "system.Metrics"

    def log_metric(self, metric, value):
        self.metadata[metric] = value


class PipelineTaskFinalStatus:
    """How the tasks an exit task waited for ended (the exit step's `status`)."""

    def __init__(self, state=None, pipeline_job_resource_name=None, pipeline_task_name=None, error_code=None, error_message=None):
        self.state = state
        self.pipeline_job_resource_name = pipeline_job_resource_name
        self.pipeline_task_name = pipeline_task_name
        self.error_code = error_code
        self.error_message = error_message

    @classmethod
    def from_json(cls, value):
        error = value.get("error") or {}
        return cls(value.get("state"), value.get("pipelineJobResourceName"), value.get("pipelineTaskName"), error.get("code"), error.get("message"))


class Input(Generic[T]):
    """`Input[Dataset]`: an artifact the step reads."""


class Output(Generic[T]):
    """`Output[Dataset]`: an artifact the step writes."""


TYPES = {cls.schema_title: cls for cls in (Artifact, Dataset, Model, HTML, Markdown, Metrics)}


def artifact_from_json(entry):
    cls = TYPES.get((entry.get("type") or {}).get("schemaTitle"), Artifact)
    artifact = cls(entry.get("name", ""), entry.get("uri", ""), entry.get("metadata"))
    os.makedirs(os.path.dirname(artifact.path) or ".", exist_ok=True)
    return artifact
