"""kfp_sdk_pipeline.py OUT.yaml [NAME] -- compiles a small pipeline with the official KFP SDK.

For tests/submit_real.rs: a pipeline YAML that nbkf did not write (two components, an int
output passed on, a defaulted string input), submitted by `nbkf submit` to the real KFP API
server. NAME (default `sdk-add`) is the pipeline's name, so each test run can have its own.
"""
import sys

from kfp import compiler, dsl


@dsl.component(base_image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(base_image="python:3.11")
def show(x: int, label: str = "sum"):
    print(label, x)


def sdk_add(a: int = 1, b: int = 2):
    s = add(a=a, b=b)
    show(x=s.output)


name = sys.argv[2] if len(sys.argv) > 2 else "sdk-add"
compiler.Compiler().compile(dsl.pipeline(name=name, description="compiled by the kfp SDK")(sdk_add), sys.argv[1])
