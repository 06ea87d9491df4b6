#!/usr/bin/env python3
"""Local stand-in for the Kubeflow Pipelines API server, REST API v2beta1 (KFP 2.17).

Tests run it as a subprocess and point a client at it:

    python kfp_standin.py [--port 0] [--prefix PREFIX] [--token TOKEN]
                          [--userid-header kubeflow-userid] [--cookie NAME=VALUE]
                          [--multi-user [--require-namespace-for-pipelines]] [--state-file PATH]
                          [--tls-cert PEM --tls-key PEM]

It prints one line, `LISTENING http(s)://127.0.0.1:<port>`, once it accepts connections, and runs
until SIGTERM or SIGINT (exit status 0).

Fidelity: answers follow the 2.17.0 server (backend/src/apiserver): protojson bodies with proto
(snake_case) names, enums as strings, unpopulated fields omitted, errors as google.rpc.Status
carrying the external message in `details`, and the multipart upload handlers' own
`{error_message, error_details}` errors. Request bodies are checked against the
`kfp_server_api` models, like protojson's strict unmarshalling. Stricter than the real server:
output-only fields (run_id, created_at, state, ...) are refused on create.

Runs advance only when fetched: each `gets_per_state` GETs of /runs/{id} take one step (PENDING
-> RUNNING with the first tasks -> ... -> SUCCEEDED or FAILED), tasks following `dependentTasks`.

Control API (never behind --prefix, never authenticated, not recorded), all JSON:
    GET|DELETE /_standin/requests    [{method, path (prefix stripped), prefix_matched, query {name: value},
                                       headers {lower-case name: value}, body | body_text | multipart
                                       [{field_name, filename, content_type, size, sha256}],
                                       fault (kind or null), response_status (null if dropped)}]
    GET|POST|DELETE /_standin/faults POST appends [{method?: "POST", path: "regex on the path without
                                       prefix", times?: 1, kind: "status"|"drop"|"drop_after"|"slow",
                                       status?: 503, seconds?: 5, message?: "..."}]; the first matching rule fires
    GET|POST /_standin/behaviour     POST merges {fail_task, fail_message, gets_per_state, retry_succeeds,
                                       populate_errors}; answers the result
    GET /_standin/state              {pipelines, pipeline_versions, experiments, runs: [stored objects,
                                       internal `_` fields included], behaviour}
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import inspect
import json
import os
import re
import signal
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import kfp_server_api.models as api_models
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

API = "/apis/v2beta1"
CONTROL = "/_standin"
MAX_UPLOAD_BYTES = 32 << 20  # common.MaxFileLength
PIPELINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")  # common.ValidatePipelineName
SPEC_NAME_UNANCHORED = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 200  # list/list.go
EPOCH = 0
DEFAULT_SERVICE_ACCOUNT = "pipeline-runner"
ACTIVE_STATES = {"PENDING", "RUNNING", "PAUSED", "RUNTIME_STATE_UNSPECIFIED"}
RETRYABLE_STATES = {"FAILED", "CANCELED"}

# gRPC code name -> (code, HTTP status), as grpc-gateway maps them.
GRPC = {
    "CANCELLED": (1, 499), "UNKNOWN": (2, 500), "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504), "NOT_FOUND": (5, 404), "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403), "RESOURCE_EXHAUSTED": (8, 429), "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409), "UNIMPLEMENTED": (12, 501), "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503), "UNAUTHENTICATED": (16, 401),
}
CODE_FOR_HTTP = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4}

DEFAULT_BEHAVIOUR = {
    "fail_task": None,        # IR task name (root.dag.tasks key) that fails, or null
    "fail_message": "task failed (injected by kfp_standin)",
    "gets_per_state": 1,      # GET /runs/{id} calls per progress step
    "retry_succeeds": True,   # after :retry the failing task succeeds
    "populate_errors": True,  # set `error` on failed runs/tasks (the 2.17 server leaves both unset)
}


def rfc3339(epoch: int) -> str:
    """Format seconds like protojson formats a Timestamp with zero nanos."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def lower_camel(name: str) -> str:
    """The protojson JSON name of a proto field name."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def go_numbers(value):
    """Print integral doubles as Go's protojson does (`1`, not `1.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_numbers(v) for v in value]
    return value


# --------------------------------------------------------------------------- errors

class ApiError(Exception):
    """An RPC error, answered as grpc-gateway does: google.rpc.Status JSON."""

    def __init__(self, code_name: str, message: str, external: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.code, self.http_status = GRPC[code_name]
        self.http_status = http_status or self.http_status
        self.message, self.external = message, external

    def body(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.external is not None:  # util.UserError.GRPCStatus() adds the external message
            body["details"] = [{"@type": "type.googleapis.com/google.rpc.Status",
                                "code": self.code, "message": self.external}]
        return body


def invalid(external: str, *context: str) -> ApiError:
    """util.NewInvalidInputError wrapped by `context` (outermost first)."""
    return ApiError("INVALID_ARGUMENT", ": ".join([*context, f"Invalid input error: {external}"]), external)


def not_found(kind: str, ident: str, *context: str) -> ApiError:
    external = f"{kind} {ident} not found"
    return ApiError("NOT_FOUND", ": ".join([*context, f"ResourceNotFoundError: {external}"]), external)


def internal(cause: str, *context: str) -> ApiError:
    """util.NewInternalServerError: the client only learns `Internal Server Error`."""
    return ApiError("INTERNAL", ": ".join([*context, f"InternalServerError: {cause}"]), "Internal Server Error")


class UploadError(Exception):
    """An error of the multipart upload handlers (pipeline_upload_server.go writeErrorToResponse).

    With `plain=True` it is their `http.Error` answer instead: the text alone, as text/plain.
    """

    def __init__(self, http_status: int, message: str, details: str | None = None, plain: bool = False):
        super().__init__(message)
        self.http_status, self.message, self.details, self.plain = http_status, message, details or message, plain

    def body(self) -> dict | str:
        return self.message + "\n" if self.plain else {"error_message": self.message, "error_details": self.details}


class ProtoJsonError(Exception):
    """A protojson unmarshalling error; the text mimics Go's `proto: (line L:C): ...`."""


# --------------------------------------------------------------------------- request bodies

# $ref-typed fields lose their "Output." description in the generated models.
OUTPUT_ONLY_TYPES = {"GoogleRpcStatus", "V2beta1RuntimeState", "V2beta1RunDetails",
                     "V2beta1RunStorageState", "V2beta1ExperimentStorageState"}
# oneof groups are not in the model metadata (backend/api/v2beta1/run.proto, filter.proto).
ONEOFS = {
    "V2beta1Run": ("kubeflow.pipelines.backend.api.v2beta1.Run.pipeline_source",
                   {"pipeline_version_id", "pipeline_spec", "pipeline_version_reference"}),
    "V2beta1Predicate": ("kubeflow.pipelines.backend.api.v2beta1.Predicate.value",
                         {"int_value", "long_value", "string_value", "timestamp_value",
                          "int_values", "long_values", "string_values"}),
}


def is_rfc3339(value) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except (AttributeError, ValueError):
        return False


SCALARS = {  # openapi scalar type -> what protojson accepts for it
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "datetime": is_rfc3339,
    "object": lambda v: True,  # google.protobuf.Struct / Value
}


def is_output_only(cls, attr: str) -> bool:
    """Whether the swagger (via the model's docstring or type) marks a field as set by the server."""
    doc = inspect.getdoc(getattr(cls, attr).fget) or ""
    documented = any(line.strip().startswith("Output.") for line in doc.splitlines()[1:])
    return documented or cls.openapi_types[attr] in OUTPUT_ONLY_TYPES


class ModelReader:
    """Strict protojson-like reading of a JSON text into the shape of a kfp_server_api model."""

    def __init__(self, text: str):
        self.text = text

    def error(self, key: str, what: str) -> ProtoJsonError:
        match = re.search(r'"%s"\s*:' % re.escape(key), self.text)
        offset = match.start() if match else 0
        line = self.text.count("\n", 0, offset) + 1
        column = offset - self.text.rfind("\n", 0, offset)
        return ProtoJsonError(f"proto: (line {line}:{column}): {what}")

    def load(self, model: str, create: bool = False) -> dict:
        def no_duplicates(pairs):
            keys = [k for k, _ in pairs]
            for key in keys:
                if keys.count(key) > 1:
                    raise self.error(key, f'duplicate field "{key}"')
            return dict(pairs)

        if not self.text.strip():
            return {}  # grpc-gateway treats an empty body as an empty message
        try:
            value = json.loads(self.text, object_pairs_hook=no_duplicates)
        except json.JSONDecodeError as exc:
            raise ProtoJsonError(str(exc)) from None
        if not isinstance(value, dict):
            raise ProtoJsonError(f"proto: syntax error (line 1:1): unexpected token {self.text.strip()[:20]}")
        return self.message(value, getattr(api_models, model), create)

    def message(self, value: dict, cls, create: bool) -> dict:
        by_json_name = {}
        for attr, json_key in cls.attribute_map.items():
            by_json_name[json_key] = attr
            by_json_name.setdefault(lower_camel(json_key), attr)
        result: dict = {}
        for key, item in value.items():
            attr = by_json_name.get(key)
            if attr is None:
                raise self.error(key, f'unknown field "{key}"')
            json_key = cls.attribute_map[attr]
            if json_key in result:
                raise self.error(key, f'duplicate field "{key}"')
            if item is None:
                continue  # protojson: null leaves the field unset
            if create and json_key == "plugins_output":
                raise ApiError(  # run_server.go CreateRun
                    "ABORTED", "BadRequestError: plugins_output is server-owned and populated exclusively via "
                    "plugin lifecycle hooks: plugins_output must not be set by the client",
                    "plugins_output is server-owned and populated exclusively via plugin lifecycle hooks")
            if create and is_output_only(cls, attr):
                raise self.error(key, f'field "{key}" is output only and must not be set on create '
                                      f"(kfp_standin is stricter than the server here)")
            result[json_key] = self.typed(item, cls.openapi_types[attr], key)
        oneof = ONEOFS.get(cls.__name__)
        if oneof and len(oneof[1] & result.keys()) > 1:
            second = sorted(oneof[1] & result.keys())[1]
            raise self.error(second, f'error parsing "{second}", oneof {oneof[0]} is already set')
        return result

    def typed(self, value, type_name: str, key: str):
        """`value` checked against an openapi type: list[T], dict(str, T), scalar, enum or model."""
        cls = getattr(api_models, type_name, None)
        if type_name.startswith("list[") and isinstance(value, list):
            return [self.typed(item, type_name[5:-1], key) for item in value]
        if type_name.startswith("dict(") and isinstance(value, dict):
            inner = type_name[type_name.index(",") + 1:-1].strip()
            return {k: self.typed(v, inner, key) for k, v in value.items()}
        if type_name in SCALARS:
            if SCALARS[type_name](value):
                return value
        elif hasattr(cls, "allowable_values"):  # an enum: its name or any number
            if value in cls.allowable_values or (isinstance(value, int) and not isinstance(value, bool)):
                return value
            type_name = "enum"
        elif cls is not None and isinstance(value, dict):
            return self.message(value, cls, create=False)
        raise self.error(key, f"invalid value for {type_name} field {lower_camel(key)}: {json.dumps(value)[:40]}")


def json_body(call: "Call", model: str) -> dict:
    """The request body read strictly as `model`; errors are the gateway's InvalidArgument."""
    try:
        return ModelReader(call.body.decode("utf-8", "replace")).load(model, create=True)
    except ProtoJsonError as exc:
        raise ApiError("INVALID_ARGUMENT", str(exc)) from None


# --------------------------------------------------------------------------- pipeline templates

class TemplateError(Exception):
    """A pipeline file the server refuses: `message` is its external message, `diagnostic` says why."""

    def __init__(self, message: str, diagnostic: str = ""):
        super().__init__(message)
        self.message, self.diagnostic = message, diagnostic or message


def _parse_proto(doc, message_class):
    """(message, None) if `doc` parses strictly as `message_class`, else (None, reason)."""
    try:
        return json_format.ParseDict(json.loads(json.dumps(doc, default=str)), message_class()), None
    except (json_format.ParseError, TypeError, ValueError) as exc:
        return None, str(exc)


def load_template(docs: list) -> dict:
    """Validate pipeline documents like template.New / NewV2SpecTemplate (template/v2_template.go).

    Returns {"pipeline_spec": dict, "platform_spec": dict | None}, both normalised like protojson.
    """
    reasons, spec, platform = [], None, None
    for doc in docs:
        if isinstance(doc, dict):
            message, reason = _parse_proto(doc, pipeline_spec_pb2.PipelineSpec)
            if message is not None and message.pipeline_info.name and message.HasField("root"):
                break
            reasons.append(reason or "pipelineInfo.name or root is missing")
    else:
        raise TemplateError("unknown template format", "; ".join(reasons) or "no PipelineSpec document")
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise TemplateError(f"unable to decode yaml document: expected a mapping, got {type(doc).__name__}")
        message, _ = _parse_proto(doc, pipeline_spec_pb2.PipelineSpec)
        if message is not None and message.pipeline_info.name and message.HasField("root"):
            if spec is not None:
                raise TemplateError("multiple pipeline specs provided")
            if message.schema_version != "2.1.0":
                raise TemplateError("KFP only supports schema version 2.1.0, but the pipeline spec has "
                                    f"version {message.schema_version}")
            if not SPEC_NAME_UNANCHORED.search(message.pipeline_info.name):
                raise TemplateError("invalid v2 pipeline spec: name should consist of lower case alphanumeric "
                                    "characters, '-' or '.', and must start and end with an alphanumeric character")
            spec = message
            continue
        platform_message, _ = _parse_proto(doc, pipeline_spec_pb2.PlatformSpec)
        if platform_message is not None and "kubernetes" in platform_message.platforms:
            if platform is not None:
                raise TemplateError("multiple platform specs provided")
            platform = platform_message
        # any other document is ignored, as the server does
    return {"pipeline_spec": go_numbers(json_format.MessageToDict(spec)),
            "platform_spec": go_numbers(json_format.MessageToDict(platform)) if platform else None}


def api_pipeline_spec(template: dict) -> dict:
    """The `pipeline_spec` Struct the API returns (YamlStringToPipelineSpecStruct in api_util.go)."""
    if template["platform_spec"] is None:
        return template["pipeline_spec"]
    return {"pipeline_spec": template["pipeline_spec"], "platform_spec": template["platform_spec"]}


def check_pipeline_name(template: dict) -> None:
    """common.ValidatePipelineName, applied to pipelineInfo.name when a version is stored."""
    name = template["pipeline_spec"]["pipelineInfo"]["name"]
    if len(name) > 128:
        raise TemplateError("pipeline's name must contain no more than 128 characters")
    if not PIPELINE_NAME.match(name):
        raise TemplateError("pipeline's name must contain only lowercase alphanumeric characters or '-' "
                            "and must start with alphanumeric characters")


PARAMETER_CHECKS = {  # validatePipelineJobInputs: parameterType -> (accepts, requirement text)
    "NUMBER_DOUBLE": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                      "requires type double or integer, but the parameter value is not of number value type"),
    "STRING": (lambda v: isinstance(v, str),
               "requires type string, but the input parameter is not of string value type"),
    "BOOLEAN": (lambda v: isinstance(v, bool), "requires type bool, but the input parameter is not of bool value type"),
    "LIST": (lambda v: isinstance(v, list), "requires type list, but the input parameter is not of list value type"),
    "STRUCT": (lambda v: isinstance(v, dict),
               "requires type struct, but the input parameter is not of struct value type"),
}
PARAMETER_CHECKS["NUMBER_INTEGER"] = PARAMETER_CHECKS["NUMBER_DOUBLE"]


def check_run_parameters(spec: dict, parameters: dict) -> None:
    """Mirror V2Spec.validatePipelineJobInputs against root.inputDefinitions.parameters."""
    context = ("Failed to create a new run", "Failed to generate the ExecutionSpec", "invalid pipeline job inputs")
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, declaration in declared.items():
        if name not in parameters:
            if not declaration.get("isOptional") and "defaultValue" not in declaration:
                raise invalid(f"parameter {name} is not optional, yet has neither default value "
                              "nor user provided value", *context)
            continue
        kind = declaration.get("parameterType", "PARAMETER_TYPE_ENUM_UNSPECIFIED")
        if kind == "PARAMETER_TYPE_ENUM_UNSPECIFIED":
            raise invalid(f"input parameter {name} has unspecified type", *context)
        if kind == "TASK_FINAL_STATUS":
            raise invalid(f"input parameter {name} requires type TASK_FINAL_STATUS, which is invalid "
                          "for root component", *context)
        accepts, requirement = PARAMETER_CHECKS.get(kind, (lambda v: False, "requires type unknown"))
        if not accepts(parameters[name]):
            raise invalid(f"input parameter {name} {requirement}", *context)
    extra = [name for name in parameters if name not in declared]
    if extra:
        raise invalid("parameter(s) provided are not required by pipeline: " + ", ".join(extra), *context)


# --------------------------------------------------------------------------- listing

OPERATION_NAMES = {1: "EQUALS", 2: "NOT_EQUALS", 3: "GREATER_THAN", 5: "GREATER_THAN_EQUALS",
                   6: "LESS_THAN", 7: "LESS_THAN_EQUALS", 8: "IN", 9: "IS_SUBSTRING"}  # filter.proto
COMPARE = {
    "EQUALS": lambda a, b: a == b, "NOT_EQUALS": lambda a, b: a != b,
    "GREATER_THAN": lambda a, b: a > b, "GREATER_THAN_EQUALS": lambda a, b: a >= b,
    "LESS_THAN": lambda a, b: a < b, "LESS_THAN_EQUALS": lambda a, b: a <= b,
    "IN": lambda a, b: a in b, "IS_SUBSTRING": lambda a, b: b in str(a),
}
# API field name -> stored key, per listable model (model/*.go APIToModelFieldMap).
LISTABLE = {
    "Experiment": {"id": "experiment_id", "experiment_id": "experiment_id", "name": "display_name",
                   "display_name": "display_name", "created_at": "_created", "last_run_created_at": "_last_run",
                   "description": "description", "namespace": "namespace", "storage_state": "storage_state"},
    "Pipeline": {"id": "pipeline_id", "pipeline_id": "pipeline_id", "name": "name", "display_name": "display_name",
                 "created_at": "_created", "description": "description", "namespace": "namespace"},
    "PipelineVersion": {"id": "pipeline_version_id", "pipeline_version_id": "pipeline_version_id", "name": "name",
                        "display_name": "display_name", "created_at": "_created", "description": "description"},
    "Run": {"run_id": "run_id", "id": "run_id", "display_name": "display_name", "name": "display_name",
            "created_at": "_created", "scheduled_at": "_created", "finished_at": "_finished",
            "description": "description", "storage_state": "storage_state", "namespace": "_namespace",
            "experiment_id": "experiment_id", "state": "state", "recurring_run_id": "recurring_run_id"},
}


def go_query_unescape(text: str) -> str:
    """url.QueryUnescape: the server decodes the (already decoded) filter parameter once more."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ValueError("invalid URL escape")
    return unquote_plus(text)


def parse_filter(encoded: str, fields: dict) -> list:
    """parseAPIFilter + filter.New: returns [(stored key, operation name, value)]."""
    if not encoded:
        return []
    try:
        decoded = go_query_unescape(encoded)
        for name in ONEOFS["V2beta1Predicate"][1]:  # transformJSONForBackwardCompatibility
            decoded = decoded.replace(f'"{lower_camel(name)}":', f'"{name}":')
        parsed = ModelReader(decoded).load("V2beta1Filter")
    except (ValueError, ProtoJsonError) as exc:
        raise invalid(f"failed to parse valid filter from {json.dumps(encoded)}: {exc}",
                      "Failed to create list options") from None
    predicates = []
    for predicate in parsed.get("predicates", []):
        operation = predicate.get("operation", 0)
        operation = OPERATION_NAMES.get(operation, operation) if isinstance(operation, int) else operation
        key = predicate.get("key", "")
        values = [predicate[k] for k in ONEOFS["V2beta1Predicate"][1] if k in predicate]
        value = values[0] if values else None
        if isinstance(value, dict):  # {int,long,string}_values
            value = value.get("values", [])
        if "timestamp_value" in predicate:
            value = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        if "long_value" in predicate:
            value = int(value)
        if not key:
            raise invalid(f"Predicate key cannot be empty for operation {operation} and value {value}")
        if operation not in COMPARE:
            raise invalid(f"invalid predicate operation: {operation}")
        if operation == "IN" and not isinstance(value, list):
            raise invalid(f"cannot use IN operator with scalar type {type(value).__name__}")
        if operation == "IS_SUBSTRING" and not isinstance(value, str):
            raise invalid(f"cannot use non string value type {type(value).__name__} with operator {operation}")
        if operation not in ("IN", "IS_SUBSTRING") and isinstance(value, list):
            raise invalid(f"cannot use scalar operator {operation} on array type {type(value).__name__}")
        if key not in fields:
            raise invalid(f'no support for filtering on unrecognized field "{key}"')
        predicates.append((fields[key], operation, value))
    return predicates


def list_page(items: list, query: dict, listable: str) -> tuple[list, int, str]:
    """Filter, sort and page `items` like list.Options; returns (page, total_size, next_page_token)."""
    fields = LISTABLE[listable]
    try:
        page_size = int(query.get("page_size") or 0)
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", f'parsing field "page_size": strconv.ParseInt: parsing '
                                           f'{json.dumps(query["page_size"])}: invalid syntax') from None
    if page_size < 0:
        raise invalid(f"The page size should be greater than 0. Got {page_size}", "Failed to create list options")
    page_size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    sort_by, filter_spec, offset = query.get("sort_by", ""), query.get("filter", ""), 0
    if query.get("page_token"):
        try:
            token = json.loads(base64.b64decode(query["page_token"], validate=True))
            offset = int(token["offset"])
        except (ValueError, KeyError, TypeError):
            raise invalid("Invalid page token", "Failed to create list options") from None
        if (sort_by or filter_spec) and (sort_by, filter_spec) != (token["sort_by"], token["filter"]):
            raise invalid("page token does not match the supplied sort by and/or filtering criteria. Either "
                          "specify the same criteria or leave the latter empty if page token is specified")
        sort_by, filter_spec = token["sort_by"], token["filter"]
    words = sort_by.lower().split()
    if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
        raise invalid(f"Received invalid sort by format {json.dumps(sort_by)}. Supported format: \"field_name\", "
                      "\"field_name desc\", or \"field_name asc\"", "Failed to create list options")
    if words and words[0] not in fields:
        raise invalid(f'Invalid sorting field: "{words[0]}" on listable type {listable}',
                      "Failed to create list options")
    sort_key = fields[words[0]] if words else "_created"
    predicates = parse_filter(filter_spec, fields)

    def matches(item: dict) -> bool:
        for key, operation, value in predicates:
            current = item.get(key, "" if isinstance(value, str) else 0)
            try:
                if not COMPARE[operation](current, value):
                    return False
            except TypeError:
                return False
        return True

    selected = sorted((i for i in items if matches(i)), key=lambda i: (i.get(sort_key, ""), i["_seq"]),
                      reverse=len(words) == 2 and words[1] == "desc")
    page = selected[offset:offset + page_size]
    more = offset + page_size < len(selected)
    token = base64.b64encode(json.dumps({"offset": offset + page_size, "sort_by": sort_by,
                                         "filter": filter_spec}).encode()).decode() if more else ""
    return page, len(selected), token


def list_response(key: str, page: list, total: int, token: str) -> dict:
    """A List*Response with protojson's omission of empty fields (an empty list is `{}`)."""
    response: dict = {}
    if page:
        response[key] = [render(item) for item in page]
    if total:
        response["total_size"] = total
    if token:
        response["next_page_token"] = token
    return response


def render(stored: dict) -> dict:
    """The API form of a stored object: internal `_` keys dropped, tasks under run_details."""
    result = {k: v for k, v in stored.items() if not k.startswith("_")}
    if stored.get("_tasks"):
        result["run_details"] = {"task_details": [render(task) for task in stored["_tasks"]]}
    return result


# --------------------------------------------------------------------------- store and runs

class Store:
    """All state, guarded by one lock; optionally persisted to --state-file after each change."""

    KINDS = ("pipelines", "pipeline_versions", "experiments", "runs")

    def __init__(self, state_file: str | None):
        self.lock = threading.RLock()
        self.state_file = state_file
        saved = {"seq": 0}
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as handle:
                saved = json.load(handle)
        self.seq: int = saved["seq"]
        self.pipelines: dict[str, dict] = saved.get("pipelines", {})
        self.pipeline_versions: dict[str, dict] = saved.get("pipeline_versions", {})
        self.experiments: dict[str, dict] = saved.get("experiments", {})
        self.runs: dict[str, dict] = saved.get("runs", {})
        self.behaviour = dict(DEFAULT_BEHAVIOUR)
        self.faults: list[dict] = []
        self.requests: list[dict] = []

    @property
    def objects(self) -> dict[str, dict]:
        return {kind: getattr(self, kind) for kind in self.KINDS}

    def new_object(self, **fields) -> dict:
        """A stored object with creation bookkeeping (`_seq` breaks created_at ties)."""
        self.seq += 1
        now = int(time.time())
        return {**fields, "created_at": rfc3339(now), "_created": now, "_seq": self.seq}

    def save(self) -> None:
        """Write the stored objects to --state-file atomically, if one was given."""
        if not self.state_file:
            return
        temporary = self.state_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"seq": self.seq, **self.objects}, handle)
        os.replace(temporary, self.state_file)

    def take_fault(self, method: str, path: str) -> dict | None:
        """The first queued rule matching the request; it is consumed after `times` uses."""
        with self.lock:
            for rule in self.faults:
                if rule["method"] in (None, method) and re.search(rule["path"], path):
                    rule["times"] -= 1
                    if rule["times"] == 0:
                        self.faults.remove(rule)
                    return dict(rule)
        return None


def set_run_state(run: dict, state: str, now: int) -> None:
    run["state"] = state
    run["state_history"].append({"update_time": rfc3339(now), "state": state})


def finish_run(run: dict, state: str, now: int) -> None:
    run["finished_at"], run["_finished"] = rfc3339(now), now
    set_run_state(run, state, now)


def new_task(run: dict, plan: dict, now: int) -> dict:
    """A V2beta1PipelineTaskDetail for one IR task; unset times read as the epoch, as on the server."""
    return {"run_id": run["run_id"], "task_id": str(uuid.uuid4()), "display_name": plan["name"],
            "create_time": rfc3339(now), "start_time": rfc3339(EPOCH), "end_time": rfc3339(EPOCH),
            "state": "PENDING", "pod_name": f"{plan['name']}-{run['run_id'][:8]}", "_deps": plan["deps"]}


def advance_run(run: dict, behaviour: dict) -> None:
    """Count one GET; every `gets_per_state` GETs an active run takes one step along its DAG.

    A step finishes the running tasks (the `fail_task` one fails), starts the tasks whose
    dependencies succeeded, and ends the run once nothing runs: tasks left waiting behind a
    failure become SKIPPED. CANCELING becomes CANCELED in one step.
    """
    run["_fetches"] += 1
    if run["_fetches"] < behaviour["gets_per_state"] or run["state"] not in ("PENDING", "RUNNING", "CANCELING"):
        return
    run["_fetches"] = 0
    now, tasks = int(time.time()), run["_tasks"]
    if run["state"] == "CANCELING":
        for task in tasks:
            if task["state"] in ("PENDING", "RUNNING"):
                task["state"] = "CANCELED" if task["state"] == "RUNNING" else "SKIPPED"
                task["end_time"] = rfc3339(now)
        return finish_run(run, "CANCELED", now)
    if run["state"] == "PENDING":
        set_run_state(run, "RUNNING", now)
    if not tasks:  # the first step, or a retry of a run cancelled before it started
        tasks.extend(new_task(run, plan, now) for plan in run["_plan"])
    failing = None if run["_retried"] and behaviour["retry_succeeds"] else behaviour["fail_task"]
    for task in tasks:
        if task["state"] == "RUNNING":
            task["state"] = "FAILED" if task["display_name"] == failing else "SUCCEEDED"
            task["end_time"] = rfc3339(now)
            if task["state"] == "FAILED" and behaviour["populate_errors"]:
                task["error"] = {"code": 2, "message": behaviour["fail_message"]}
    states = {task["display_name"]: task["state"] for task in tasks}
    for task in tasks:
        if task["state"] == "PENDING" and all(states.get(dep) == "SUCCEEDED" for dep in task["_deps"]):
            task["state"], task["start_time"] = "RUNNING", rfc3339(now)
    if any(task["state"] == "RUNNING" for task in tasks):
        return
    failed = [task["display_name"] for task in tasks if task["state"] == "FAILED"]
    for task in tasks:
        if task["state"] == "PENDING":
            task["state"] = "SKIPPED"
    finish_run(run, "FAILED" if failed else "SUCCEEDED", now)
    if failed and behaviour["populate_errors"]:
        run["error"] = {"code": 2, "message": f"task {failed[0]} failed: {behaviour['fail_message']}"}


def task_plan(spec: dict) -> list:
    """root.dag.tasks with their dependentTasks, in dependency order (ties by name)."""
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    deps = {name: [d for d in task.get("dependentTasks", []) if d in tasks] for name, task in tasks.items()}
    ordered: list[str] = []
    while len(ordered) < len(deps):
        ready = sorted(n for n in deps if n not in ordered and all(d in ordered for d in deps[n]))
        ordered += ready or sorted(n for n in deps if n not in ordered)  # a cycle: keep the rest as is
    return [{"name": name, "deps": deps[name]} for name in ordered]


# --------------------------------------------------------------------------- handlers

@dataclass
class Call:
    """One API request as the handlers see it."""

    options: argparse.Namespace
    store: Store
    method: str
    path: str
    query: dict
    body: bytes
    headers: dict
    params: dict = field(default_factory=dict)
    userid: str | None = None

    def namespace(self, requested: str) -> str:
        """ResourceManager.ReplaceNamespace: namespaces only exist in multi-user mode."""
        return requested if self.options.multi_user else ""

    def pipeline_namespace(self, requested: str, *context: str) -> str:
        """The namespace of a pipeline operation, checked by validation.ValidateNamespaceRequired."""
        namespace = self.namespace(requested)
        if self.options.multi_user and self.options.require_namespace_for_pipelines and not namespace:
            raise invalid("Namespace is required for pipeline operations", *context)
        return namespace

    def upload(self, missing: str, failure: str) -> tuple[str, bytes]:
        """(filename, bytes) of the first `uploadfile` part, checked like r.FormFile and ReadPipelineFile."""
        content_type = self.headers.get("content-type", "")
        part = next((p for p in parse_multipart(self.body, content_type) if p["name"] == "uploadfile"), None)
        if part is None or part["filename"] is None:
            raise UploadError(400, missing, "http: no such file")
        data = part["data"]
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadError(400, failure, f"File size too large ({len(data)} bytes). Maximum supported size: "
                                            f"{MAX_UPLOAD_BYTES}. Consider moving large embedded artifacts or "
                                            "notebooks or Python code into a container image or object store.")
        if not part["filename"].endswith((".yaml", ".yml", ".json")):
            archive = data[:2] in (b"PK", b"\x1f\x8b")
            raise UploadError(400, failure, "kfp_standin does not unpack .zip/.tar.gz uploads" if archive else
                              "Unexpected pipeline file format. Support .zip, .tar.gz, .json or YAML")
        return part["filename"], data


def parse_multipart(body: bytes, content_type: str) -> list[dict]:
    """Split a multipart/form-data body exactly: [{name, filename, content_type, data}]."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        return []
    parts = []
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(line.split(":", 1) for line in head.decode("utf-8", "replace").split("\r\n") if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        parts.append({"name": name.group(1) if name else None, "filename": filename.group(1) if filename else None,
                      "content_type": headers.get("content-type"), "data": data.removesuffix(b"\r\n")})
    return parts


def healthz(call: Call):
    """main.go answers healthz itself, with encoding/json (every key present)."""
    return 200, {"commit_sha": "kfp-standin", "tag_name": "2.17.0", "multi_user": call.options.multi_user,
                 "pipeline_store": "database"}


def new_pipeline(call: Call, name: str, display_name: str, description: str, namespace: str, tags=None) -> dict:
    pipeline = call.store.new_object(pipeline_id=str(uuid.uuid4()), name=name, display_name=display_name)
    pipeline.update({k: v for k, v in (("description", description), ("namespace", namespace),
                                       ("tags", tags), ("_owner", call.userid)) if v})
    call.store.pipelines[pipeline["pipeline_id"]] = pipeline
    return pipeline


def new_version(call: Call, pipeline: dict, name: str, display_name: str, description: str, template: dict):
    version = call.store.new_object(pipeline_id=pipeline["pipeline_id"], pipeline_version_id=str(uuid.uuid4()),
                                    name=name, display_name=display_name)
    if description:
        version["description"] = description
    version["pipeline_spec"] = api_pipeline_spec(template)
    call.store.pipeline_versions[version["pipeline_version_id"]] = version
    return version


def find(objects: dict, **wanted) -> dict | None:
    """The first stored object whose fields equal `wanted` (absent fields read as "")."""
    return next((o for o in objects.values() if all(o.get(k, "") == v for k, v in wanted.items())), None)


def create_pipeline(call: Call):
    body = json_body(call, "V2beta1Pipeline")
    name = body.get("name") or body.get("display_name", "")
    namespace = call.pipeline_namespace(body.get("namespace", ""), "Failed to create a pipeline due to server error")
    if not name:
        raise invalid("name is required", "Failed to create a pipeline due to server error")
    if find(call.store.pipelines, name=name, namespace=namespace):
        external = f"Failed to create a new pipeline. The name {name} already exist. Please specify a new name"
        raise ApiError("ALREADY_EXISTS", "Failed to create a pipeline due to server error: Failed to create a "
                       f"pipeline in PipelineStore: Already exist error: {external}", external)
    pipeline = new_pipeline(call, name, body.get("display_name") or name, body.get("description", ""),
                            namespace, body.get("tags"))
    return 200, render(pipeline)


def read_template(data: bytes) -> dict:
    """An uploaded pipeline file, validated as CreatePipelineVersion does; failures are 400 uploads errors."""
    try:
        docs = list(yaml.safe_load_all(data.decode("utf-8")))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UploadError(400, "unknown template format", f"unknown template format: {exc}") from None
    try:
        template = load_template(docs)
        check_pipeline_name(template)
    except TemplateError as exc:
        raise UploadError(400, exc.message, exc.diagnostic) from None
    return template


def upload_namespace(call: Call, requested: str) -> str:
    """Call.pipeline_namespace for the upload handlers, which refuse with http.Error (text/plain)."""
    try:
        return call.pipeline_namespace(requested)
    except ApiError as exc:
        raise UploadError(400, exc.message, plain=True) from None


def upload_pipeline(call: Call):
    filename, data = call.upload("Failed to read pipeline from file", "Failed to read a pipeline spec file")
    namespace = upload_namespace(call, call.query.get("namespace", ""))
    name = call.query.get("name") or call.query.get("display_name") or filename
    display_name = call.query.get("display_name") or name
    description = call.query.get("description", "")
    template = read_template(data)
    if find(call.store.pipelines, name=name, namespace=namespace):
        raise UploadError(409, "Failed to create a pipeline and a pipeline version")
    pipeline = new_pipeline(call, name, display_name, description, namespace)
    new_version(call, pipeline, name, display_name, description, template)
    return 200, render(pipeline)


def upload_pipeline_version(call: Call):
    failure = "Failed to create a pipeline version"
    filename, data = call.upload(failure, failure)
    pipeline = call.store.pipelines.get(call.query.get("pipelineid", ""))
    if pipeline is None:  # a missing or unknown pipelineid is a 400 here, not a 404
        raise UploadError(400, failure, f"Failed to get namespace for pipeline id {call.query.get('pipelineid')}")
    name = call.query.get("name") or call.query.get("display_name") or filename
    upload_namespace(call, pipeline.get("namespace", ""))
    template = read_template(data)
    if find(call.store.pipeline_versions, pipeline_id=pipeline["pipeline_id"], name=name):
        raise UploadError(409, failure, f"Failed to create a new pipeline version. The name {name} already exist. "
                                        "Specify a new name")
    version = new_version(call, pipeline, name, call.query.get("display_name") or name,
                          call.query.get("description", ""), template)
    return 200, render(version)


def list_pipelines(call: Call):
    namespace = call.pipeline_namespace(call.query.get("namespace", ""), "Failed to list pipelines in namespace . "
                                        "Check error stack")
    items = [p for p in call.store.pipelines.values() if p.get("namespace", "") == namespace]
    return 200, list_response("pipelines", *list_page(items, call.query, "Pipeline"))


def get_pipeline_by_name(call: Call):
    name = call.params["name"]
    namespace = call.pipeline_namespace(call.query.get("namespace", ""), f"Failed to get a pipeline with name {name} "
                                        "and namespace . Check error stack.")
    pipeline = find(call.store.pipelines, name=name, namespace=namespace)
    if pipeline is None:
        raise not_found("Namespace/Pipeline", f"{namespace}/{name}", f"Failed to get a pipeline with name {name} "
                        f"and namespace {namespace}. Check error stack.")
    return 200, render(pipeline)


def existing_pipeline(call: Call) -> dict:
    pipeline = call.store.pipelines.get(call.params["pipeline_id"])
    if pipeline is None:
        raise not_found("Pipeline", call.params["pipeline_id"], "Failed to get a pipeline")
    return pipeline


def get_pipeline(call: Call):
    return 200, render(existing_pipeline(call))


def list_pipeline_versions(call: Call):
    pipeline = existing_pipeline(call)
    items = [v for v in call.store.pipeline_versions.values() if v["pipeline_id"] == pipeline["pipeline_id"]]
    return 200, list_response("pipeline_versions", *list_page(items, call.query, "PipelineVersion"))


def get_pipeline_version(call: Call):
    # The server looks the version up by its id alone; the pipeline id in the path is not checked.
    version = call.store.pipeline_versions.get(call.params["version_id"])
    if version is None:
        raise not_found("PipelineVersion", call.params["version_id"],
                        f"Failed to get a pipeline version {call.params['version_id']}")
    return 200, render(version)


def new_experiment(call: Call, name: str, description: str, namespace: str) -> dict:
    experiment = call.store.new_object(experiment_id=str(uuid.uuid4()), display_name=name)
    experiment.update({k: v for k, v in (("description", description), ("namespace", namespace),
                                         ("_owner", call.userid)) if v})
    experiment.update(last_run_created_at=rfc3339(EPOCH), _last_run=EPOCH, storage_state="AVAILABLE")
    call.store.experiments[experiment["experiment_id"]] = experiment
    return experiment


def create_experiment(call: Call):
    body = json_body(call, "V2beta1Experiment")
    name, namespace = body.get("display_name", ""), call.namespace(body.get("namespace", ""))
    context = "Failed to create a experiment"
    if not name:
        raise internal("Failed to convert API experiment to model experiment: Invalid input error: "
                       "Experiment must have a non-empty name",
                       "[ExperimentServer]: Failed to create a experiment due to conversion error")
    if call.options.multi_user and not namespace:
        raise invalid("An experiment cannot have an empty namespace in multi-user mode", context,
                      "Failed to authorize the request")
    if find(call.store.experiments, display_name=name, namespace=namespace):
        external = f"Failed to create a new experiment. The name {name} already exists. Please specify a new name"
        raise ApiError("ALREADY_EXISTS", f"{context}: Already exist error: {external}", external)
    return 200, render(new_experiment(call, name, body.get("description", ""), namespace))


def list_experiments(call: Call):
    namespace = call.namespace(call.query.get("namespace", ""))
    if call.options.multi_user and not namespace:
        raise invalid("An experiment cannot have an empty namespace in multi-user mode", "List experiments failed",
                      "Failed to authorize with API")
    items = [e for e in call.store.experiments.values() if e.get("namespace", "") == namespace]
    return 200, list_response("experiments", *list_page(items, call.query, "Experiment"))


def existing_experiment(call: Call, experiment_id: str, *context: str) -> dict:
    experiment = call.store.experiments.get(experiment_id)
    if experiment is None:
        raise not_found("Experiment", experiment_id, *context)
    return experiment


def get_experiment(call: Call):
    return 200, render(existing_experiment(call, call.params["experiment_id"], "Failed to fetch experiment"))


def resolve_run_template(call: Call, body: dict) -> tuple[dict, dict]:
    """(pipeline source fields for the run, normalised pipeline spec) like fetchTemplateFromPipelineSpec.

    Every failure here is an INTERNAL error on the real server (resource_manager.go CreateRun).
    """
    def fail(cause: str) -> ApiError:
        return internal(f"Failed to create a run due to error fetching manifest: {cause}",
                        "Failed to create a new run")
    reference = body.get("pipeline_version_reference")
    if reference is not None:
        pipeline_id, version_id = reference.get("pipeline_id", ""), reference.get("pipeline_version_id", "")
        if version_id:
            version = call.store.pipeline_versions.get(version_id)
            if version is None:
                raise fail(f"Failed to fetch a template due to error retrieving pipeline version: Failed to get a "
                           f"pipeline version with id {version_id}: ResourceNotFoundError: PipelineVersion "
                           f"{version_id} not found")
            if pipeline_id and version["pipeline_id"] != pipeline_id:
                raise fail(f"Invalid input error: Pipeline version {version_id} belongs to pipeline "
                           f"{version['pipeline_id']} (not {pipeline_id})")
        else:
            versions = [v for v in call.store.pipeline_versions.values() if v["pipeline_id"] == pipeline_id]
            if pipeline_id not in call.store.pipelines or not versions:
                raise fail(f"Failed to fetch a pipeline version and its manifest from pipeline {pipeline_id}: "
                           f"ResourceNotFoundError: Pipeline {pipeline_id} not found")
            version = max(versions, key=lambda v: (v["_created"], v["_seq"]))
        spec = version["pipeline_spec"]
        return ({"pipeline_version_reference": {"pipeline_id": version["pipeline_id"],
                                                "pipeline_version_id": version["pipeline_version_id"]}},
                spec.get("pipeline_spec", spec) if "platform_spec" in spec else spec)
    inline = body.get("pipeline_spec")
    if inline is None:  # a top-level pipeline_version_id is ignored by toModelRun
        raise fail("Invalid input error: Failed to fetch a template with an empty pipeline spec manifest")
    if not isinstance(inline, dict):
        raise ApiError("INVALID_ARGUMENT", "proto: invalid value for message field pipelineSpec")
    docs = [inline["pipeline_spec"], inline.get("platform_spec")] if "pipeline_spec" in inline else [inline]
    try:
        template = load_template(docs)
    except TemplateError as exc:
        raise fail(f"Failed to fetch a template with an invalid pipeline spec manifest: {exc.message}") from None
    echo = {"pipeline_spec": docs[0], "platform_spec": docs[1]} if template["platform_spec"] else docs[0]
    return {"pipeline_spec": echo}, template["pipeline_spec"]


def create_run(call: Call):
    body = json_body(call, "V2beta1Run")
    store, multi_user = call.store, call.options.multi_user
    if not body.get("display_name"):
        raise internal("Failed to convert a API run detail to its internal representation: Invalid input error: "
                       "Run name cannot be empty", "Failed to create a new run",
                       "CreateJob(job.ToV2())Failed to create a run due to conversion error")
    experiment_id = body.get("experiment_id", "")
    if multi_user and not experiment_id:
        raise invalid("Experiment id can not be empty in multi-user mode", "Failed to create a new run",
                      "Failed to create a run due to invalid experimentId and namespace combination")
    if experiment_id:
        experiment = existing_experiment(call, experiment_id, "Failed to create a new run",
                                         "Failed to create a run due to invalid experimentId and namespace "
                                         f"combination: Failed to fetch namespace for experiment {experiment_id}")
    else:  # the default experiment, created on first use
        experiment = find(store.experiments, display_name="Default", namespace="") or new_experiment(
            call, "Default", "All runs created without specifying an experiment will be grouped here.", "")
    namespace = experiment.get("namespace", "")
    if multi_user and not namespace:
        raise invalid("A run cannot have an empty namespace in multi-user mode", "Failed to create a new run")
    source, spec = resolve_run_template(call, body)
    runtime_config = body.get("runtime_config", {})
    check_run_parameters(spec, runtime_config.get("parameters", {}))
    run = store.new_object(run_id=str(uuid.uuid4()), experiment_id=experiment["experiment_id"],
                           display_name=body["display_name"])
    run.update({k: body[k] for k in ("description", "recurring_run_id", "plugins_input") if body.get(k)})
    run["service_account"] = body.get("service_account") or DEFAULT_SERVICE_ACCOUNT
    config = {k: v for k, v in runtime_config.items() if k in ("parameters", "pipeline_root") and v}
    if config:
        run["runtime_config"] = config
    run.update(source, storage_state="AVAILABLE", state_history=[], scheduled_at=run["created_at"],
               finished_at=rfc3339(EPOCH), _finished=EPOCH, _namespace=namespace, _owner=call.userid,
               _plan=task_plan(spec), _tasks=[], _fetches=0, _retried=False)
    set_run_state(run, "PENDING", run["_created"])
    store.runs[run["run_id"]] = run
    experiment["last_run_created_at"], experiment["_last_run"] = run["created_at"], run["_created"]
    return 200, render(run)


def existing_run(call: Call, *context: str) -> dict:
    run = call.store.runs.get(call.params["run_id"])
    if run is None:
        raise not_found("Run", call.params["run_id"], *context)
    return run


def get_run(call: Call):
    run = existing_run(call, "Failed to get a run")
    advance_run(run, call.store.behaviour)
    return 200, render(run)


def list_runs(call: Call):
    experiment_id = call.query.get("experiment_id", "")
    if experiment_id:
        existing_experiment(call, experiment_id, "Failed to list runs", "Failed to list runs due to error fetching "
                            f"namespace for experiment {experiment_id}. Try filtering based on namespace")
        items = [r for r in call.store.runs.values() if r["experiment_id"] == experiment_id]
    else:
        namespace = call.namespace(call.query.get("namespace", ""))
        if call.options.multi_user and not namespace:
            raise invalid("A run cannot have an empty namespace in multi-user mode", "Failed to list runs",
                          f"Failed to list runs due to authorization error. Check if you have permission to access "
                          f"namespace {namespace}")
        items = [r for r in call.store.runs.values() if r["_namespace"] == namespace]
    return 200, list_response("runs", *list_page(items, call.query, "Run"))


def terminate_run(call: Call):
    run = existing_run(call, "Failed to terminate a run", f"Failed to terminate run {call.params['run_id']} due "
                       "to error fetching the run")
    if run["state"] not in ACTIVE_STATES:
        raise invalid(f"Failed to terminate a run {run['run_id']}. Row not found", "Failed to terminate a run",
                      f"Failed to terminate run {run['run_id']}")
    run["state"] = "CANCELING"  # run_store.go TerminateRun does not append to state_history
    run["_fetches"] = 0
    return 200, {}


def retry_run(call: Call):
    run = existing_run(call, "Failed to retry a run", f"Failed to retry run {call.params['run_id']} due to error "
                       "fetching the run")
    if run["state"] not in RETRYABLE_STATES:
        raise ApiError("ABORTED", f"Failed to retry a run: Failed to retry run {run['run_id']}: BadRequestError: "
                       "Workflow must be Failed/Error to retry: workflow cannot be retried",
                       "Workflow must be Failed/Error to retry")
    for task in run["_tasks"]:
        if task["state"] != "SUCCEEDED":
            task.update(state="PENDING", start_time=rfc3339(EPOCH), end_time=rfc3339(EPOCH))
            task.pop("error", None)
    run.pop("error", None)
    run.update(finished_at=rfc3339(EPOCH), _finished=EPOCH, _retried=True, _fetches=0)
    set_run_state(run, "RUNNING", int(time.time()))
    return 200, {}


def not_emulated(call: Call):
    raise ApiError("UNIMPLEMENTED", f"kfp_standin does not emulate {call.method} {call.path}")


ID = r"(?P<{}>[^/:]+)"
ROUTES = [  # (method or "*", path pattern, handler); the upload handlers accept any method, as in main.go
    ("GET", f"{API}/healthz", healthz),
    ("*", f"{API}/pipelines/upload", upload_pipeline),
    ("*", f"{API}/pipelines/upload_version", upload_pipeline_version),
    ("POST", f"{API}/pipelines", create_pipeline),
    ("GET", f"{API}/pipelines", list_pipelines),
    ("POST", f"{API}/pipelines/create", not_emulated),
    ("GET", f"{API}/pipelines/names/{ID.format('name')}", get_pipeline_by_name),
    ("GET", f"{API}/pipelines/{ID.format('pipeline_id')}", get_pipeline),
    ("GET", f"{API}/pipelines/{ID.format('pipeline_id')}/versions", list_pipeline_versions),
    ("GET", f"{API}/pipelines/{ID.format('pipeline_id')}/versions/{ID.format('version_id')}", get_pipeline_version),
    ("POST", f"{API}/experiments", create_experiment),
    ("GET", f"{API}/experiments", list_experiments),
    ("GET", f"{API}/experiments/{ID.format('experiment_id')}", get_experiment),
    ("POST", f"{API}/runs", create_run),
    ("GET", f"{API}/runs", list_runs),
    ("GET", f"{API}/runs/{ID.format('run_id')}", get_run),
    ("POST", f"{API}/runs/{ID.format('run_id')}:terminate", terminate_run),
    ("POST", f"{API}/runs/{ID.format('run_id')}:retry", retry_run),
    # Real routes (swagger) that the stand-in answers with UNIMPLEMENTED rather than a misleading 404.
    ("DELETE", f"{API}/(pipelines|experiments|runs|recurringruns)/[^/:]+", not_emulated),
    ("DELETE", f"{API}/pipelines/[^/]+/versions/[^/]+", not_emulated),
    ("PATCH", f"{API}/pipelines/[^/]+(/versions/[^/]+)?", not_emulated),
    ("POST", f"{API}/pipelines/[^/]+/versions", not_emulated),
    ("POST", f"{API}/(experiments|runs)/[^/:]+:(archive|unarchive)", not_emulated),
    ("*", f"{API}/(recurringruns|auth|filters|visualizations|scheduledworkflows|workflows)(/.*)?", not_emulated),
]
ROUTES = [(method, re.compile(pattern + "$"), handler) for method, pattern, handler in ROUTES]


def route(call: Call):
    """Dispatch to the handler; unknown paths and methods answer like grpc-gateway."""
    path_matched = False
    for method, pattern, handler in ROUTES:
        match = pattern.match(call.path)
        if match:
            path_matched = True
            if method in ("*", call.method):
                call.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(call)
    if path_matched:
        raise ApiError("UNIMPLEMENTED", "Method Not Allowed", http_status=405)
    raise ApiError("NOT_FOUND", "Not Found")


# --------------------------------------------------------------------------- control API

FAULT_KEYS = {"method", "path", "times", "kind", "status", "seconds", "message"}
FAULT_KINDS = {"status", "drop", "slow", "drop_after"}


def parse_faults(payload) -> list[dict]:
    if not isinstance(payload, list):
        raise ValueError("expected a JSON list of fault rules")
    rules = []
    for rule in payload:
        if not isinstance(rule, dict) or set(rule) - FAULT_KEYS:
            raise ValueError(f"a fault rule is an object with keys {sorted(FAULT_KEYS)}: {rule!r}")
        if rule.get("kind") not in FAULT_KINDS or not isinstance(rule.get("path"), str):
            raise ValueError(f"a fault rule needs `path` (regex) and `kind` in {sorted(FAULT_KINDS)}: {rule!r}")
        re.compile(rule["path"])
        times = rule.get("times", 1)
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"`times` must be a positive integer: {rule!r}")
        if rule["kind"] == "status" and not (isinstance(rule.get("status"), int) and 100 <= rule["status"] <= 599):
            raise ValueError(f"a `status` fault needs `status` (HTTP status): {rule!r}")
        rules.append({"method": rule.get("method"), "path": rule["path"], "times": times, "kind": rule["kind"],
                      "status": rule.get("status"), "seconds": float(rule.get("seconds", 5)),
                      "message": rule.get("message")})
    return rules


def parse_behaviour(payload, current: dict) -> dict:
    if not isinstance(payload, dict) or set(payload) - DEFAULT_BEHAVIOUR.keys():
        raise ValueError(f"expected an object with keys among {sorted(DEFAULT_BEHAVIOUR)}")
    merged = {**current, **payload}
    if not (isinstance(merged["gets_per_state"], int) and merged["gets_per_state"] >= 1):
        raise ValueError("`gets_per_state` must be a positive integer")
    if merged["fail_task"] is not None and not isinstance(merged["fail_task"], str):
        raise ValueError("`fail_task` must be a task name or null")
    return merged


def clear(items: list) -> dict:
    items.clear()
    return {}


CONTROL_ACTIONS = {  # (resource, method) -> action(store, JSON payload) -> answer
    ("requests", "GET"): lambda store, _: store.requests,
    ("requests", "DELETE"): lambda store, _: clear(store.requests),
    ("faults", "GET"): lambda store, _: store.faults,
    ("faults", "POST"): lambda store, payload: store.faults.extend(parse_faults(payload)) or store.faults,
    ("faults", "DELETE"): lambda store, _: clear(store.faults),
    ("behaviour", "GET"): lambda store, _: store.behaviour,
    ("behaviour", "POST"): lambda store, payload: store.behaviour.update(
        parse_behaviour(payload, store.behaviour)) or store.behaviour,
    ("state", "GET"): lambda store, _: {**{kind: list(objects.values()) for kind, objects in store.objects.items()},
                                        "behaviour": store.behaviour},
}


def control(store: Store, method: str, path: str, body: bytes) -> tuple[int, object]:
    """The /_standin/ test-control API."""
    action = CONTROL_ACTIONS.get((path[len(CONTROL):].strip("/"), method))
    if action is None:
        return 404, {"error": f"no control endpoint {method} {path}"}
    try:
        with store.lock:  # answer a snapshot: handler threads keep changing the store
            return 200, copy.deepcopy(action(store, json.loads(body) if body.strip() else None))
    except (ValueError, re.error) as exc:
        return 400, {"error": str(exc)}


# --------------------------------------------------------------------------- HTTP layer

class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every answer carries Content-Length."""

    protocol_version = "HTTP/1.1"
    server: "StandinServer"

    def do_GET(self):
        self.handle_request()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format, *args):  # quiet: the recorded requests are the log
        pass

    def read_body(self) -> bytes:
        """The whole request body (Content-Length or chunked), read even when the request is refused."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle_request(self) -> None:
        """Record the request, apply the first matching fault, then answer it (or not)."""
        options, store = self.server.options, self.server.store
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path == CONTROL or url.path.startswith(CONTROL + "/"):
            return self.respond(*control(store, self.command, url.path, body))
        path, prefix_matched = split_prefix(url.path, options.prefix)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():  # repeated headers are joined, as HTTP allows
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        fault = store.take_fault(self.command, path)
        record = {"method": self.command, "path": path, "prefix_matched": prefix_matched,
                  "query": dict(parse_qsl(url.query, keep_blank_values=True)), "headers": headers,
                  **describe_body(body, headers.get("content-type", "")),
                  "fault": fault and fault["kind"], "response_status": None}
        with store.lock:
            store.requests.append(record)
        if fault and fault["kind"] == "status":
            record["response_status"] = fault["status"]
            code = CODE_FOR_HTTP.get(fault["status"], 2)
            message = fault["message"] or f"kfp_standin injected HTTP {fault['status']}"
            return self.respond(fault["status"], {"code": code, "message": message})
        if fault and fault["kind"] == "drop":
            return self.drop()
        if fault and fault["kind"] == "slow":
            time.sleep(fault["seconds"])
        status, payload = self.answer(Call(options, store, self.command, path, record["query"], body, headers),
                                      prefix_matched)
        record["response_status"] = status
        if fault and fault["kind"] == "drop_after":
            return self.drop()
        self.respond(status, payload)

    def answer(self, call: Call, prefix_matched: bool) -> tuple[int, object]:
        """Prefix, authentication, routing and the handler, turned into (HTTP status, JSON body)."""
        try:
            if not prefix_matched:
                raise ApiError("NOT_FOUND", f"Not Found: the API is served under {call.options.prefix}")
            authenticated, call.userid = self.server.authenticate(call.headers)
            if not authenticated:
                raise ApiError("UNAUTHENTICATED", "Unauthenticated: Failed to check authorization. User identity "
                               "is empty in the request header", "Failed to check authorization. User identity "
                               "is empty in the request header")
            with call.store.lock:
                try:
                    return copy.deepcopy(route(call))  # a snapshot, serialised after the lock is released
                finally:
                    call.store.save()  # a failed call may have changed state too (the default experiment)
        except ApiError as exc:
            return exc.http_status, exc.body()
        except UploadError as exc:
            return exc.http_status, exc.body()

    def respond(self, status: int, payload) -> None:
        """Answer JSON, or text/plain when `payload` is a string."""
        plain = isinstance(payload, str)
        data = payload.encode() if plain else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if plain else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def drop(self) -> None:
        """Close the TCP connection without writing a byte."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def split_prefix(path: str, prefix: str) -> tuple[str, bool]:
    """(path without the proxy prefix, whether the prefix matched); `:` may arrive as %3A."""
    if not prefix:
        return path, True
    for candidate in (prefix, prefix.replace(":", "%3A"), prefix.replace(":", "%3a")):
        if path.startswith(candidate + "/"):
            return path[len(candidate):], True
    return path, False


def describe_body(body: bytes, content_type: str) -> dict:
    """How a request body is recorded: JSON as a value, multipart parts by digest, other text as text."""
    if content_type.startswith("multipart/form-data"):
        return {"multipart": [{"field_name": p["name"], "filename": p["filename"], "content_type": p["content_type"],
                               "size": len(p["data"]), "sha256": hashlib.sha256(p["data"]).hexdigest()}
                              for p in parse_multipart(body, content_type)]}
    if not body:
        return {"body": None}
    try:
        return {"body": json.loads(body)}
    except ValueError:
        return {"body_text": body.decode("utf-8", "replace")}


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, options: argparse.Namespace):
        super().__init__(("127.0.0.1", options.port), Handler)
        self.options = options
        self.store = Store(options.state_file)

    def authenticate(self, headers: dict) -> tuple[bool, str | None]:
        """(passes, userid): any configured credential suffices; none configured means open."""
        options = self.options
        userid = headers.get(options.userid_header.lower()) if options.userid_header else None
        if not (options.token or options.cookie or options.userid_header) or userid:
            return True, userid or None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if options.token and scheme.lower() == "bearer" and token.strip() == options.token:
            return True, None
        if options.cookie:
            name, _, value = options.cookie.partition("=")
            cookies = dict(c.strip().partition("=")[::2] for c in re.split(r"[;,]", headers.get("cookie", "")))
            if cookies.get(name) == value:
                return True, None
        return False, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--prefix", default="", help="serve the API only under this path prefix, e.g. "
                        "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy")
    parser.add_argument("--token", help="accept `Authorization: Bearer TOKEN`")
    parser.add_argument("--userid-header", help="accept any non-empty value of this header (e.g. kubeflow-userid)")
    parser.add_argument("--cookie", help="accept this cookie, NAME=VALUE (e.g. authservice_session=abc)")
    parser.add_argument("--multi-user", action="store_true", help="behave like a multi-user deployment")
    parser.add_argument("--require-namespace-for-pipelines", action="store_true", help="with --multi-user: "
                        "pipeline operations need a namespace (the server's REQUIRE_NAMESPACE_FOR_PIPELINES)")
    parser.add_argument("--state-file", help="load stored objects from this JSON file and save them after changes")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    options = parser.parse_args()
    if bool(options.tls_cert) != bool(options.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    options.prefix = options.prefix.rstrip("/")
    if options.cookie and "=" not in options.cookie:
        parser.error("--cookie takes NAME=VALUE")

    server = StandinServer(options)
    scheme = "http"
    if options.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.tls_cert, options.tls_key)
        # The handshake happens on accept; a client that refuses the certificate only
        # ends its own connection.
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    print(f"LISTENING {scheme}://127.0.0.1:{server.server_address[1]}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    with server.store.lock:
        server.store.save()


if __name__ == "__main__":
    main()
