"""Runs one component function of a step program, as `kfp.dsl.executor_main` does:
reads the ExecutorInput JSON, calls the function with its parameters and artifacts, and
writes the ExecutorOutput JSON (artifacts with their metadata)."""
import argparse
import importlib.util
import inspect
import json
import os
import sys
import typing

from kfp.dsl import PipelineTaskFinalStatus, artifact_from_json


def takes_a_list(annotation):
    """`Input[List[Artifact]]`: the artifacts of a loop's items (`dsl.Collected`)."""
    return any(typing.get_origin(a) in (list, typing.List) for a in typing.get_args(annotation))


def main():
    parser = argparse.ArgumentParser(description="nbkf's local stand-in for kfp.dsl.executor_main")
    parser.add_argument("--component_module_path", required=True)
    parser.add_argument("--function_to_execute", required=True)
    parser.add_argument("--executor_input", required=True)
    args, _ = parser.parse_known_args()
    executor_input = json.loads(args.executor_input)
    spec = importlib.util.spec_from_file_location("ephemeral_component", args.component_module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ephemeral_component"] = module
    spec.loader.exec_module(module)
    function = getattr(module, args.function_to_execute)

    inputs = executor_input.get("inputs", {})
    outputs = executor_input.get("outputs", {})
    values = inputs.get("parameterValues", {})
    input_artifacts = inputs.get("artifacts", {})
    output_artifacts = outputs.get("artifacts", {})
    kwargs, produced = {}, {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name in values:
            value = values[name]
            if parameter.annotation is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            if parameter.annotation is PipelineTaskFinalStatus:
                value = PipelineTaskFinalStatus.from_json(value)
            kwargs[name] = value
        elif name in input_artifacts:
            entries = input_artifacts[name]["artifacts"]
            if takes_a_list(parameter.annotation):
                kwargs[name] = [artifact_from_json(e) for e in entries]
            else:
                kwargs[name] = artifact_from_json(entries[0])
        elif name in output_artifacts:
            kwargs[name] = produced[name] = artifact_from_json(output_artifacts[name]["artifacts"][0])
    try:
        returned = function(**kwargs)
    except Exception as e:
        # The step runtime has already printed the notebook-mapped traceback.
        if type(e).__name__ != "NbkfStepFailed":
            raise
        sys.exit(1)
    result = {
        "artifacts": {
            name: {"artifacts": [{"name": a.name, "uri": a.uri, "metadata": a.metadata}]} for name, a in produced.items()
        }
    }
    if returned is not None:
        # A function's return value is its output parameter `Output` (an items task's list).
        result["parameterValues"] = {"Output": returned}
    output_file = outputs.get("outputFile")
    if output_file:
        os.makedirs(os.path.dirname(output_file) or ".", exist_ok=True)
        with open(output_file, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
