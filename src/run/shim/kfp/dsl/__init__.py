"""The artifact types and annotations of `kfp.dsl` that nbkf's step programs use."""
import os
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Artifact", "Dataset", "Model", "Metrics", "HTML", "Markdown", "Input", "Output"]


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
