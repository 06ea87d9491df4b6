#!/usr/bin/env python3
"""Writes the small notebooks that tests/run.rs runs with `nbkf run` and `nbkf check`.

Run `python3 tests/notebooks/make_notebooks.py` from anywhere; it rewrites every
`*.ipynb` it defines next to itself. Each notebook's first cell says what it shows. They
use the standard library only, so any Python 3 runs them.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The notebook-writing helpers are the fixtures' own.
sys.path.insert(0, os.path.join(HERE, "..", "..", "fixtures"))
from make_fixtures import code, md  # noqa: E402
from make_fixtures import notebook as _notebook  # noqa: E402


def notebook(name, cells, extra_metadata=None):
    _notebook(name, cells, extra_metadata, directory=HERE)


NOTEBOOKS = {}


def notebook_def(fn):
    NOTEBOOKS[fn.__name__] = fn
    return fn


@notebook_def
def hidden_mutation():
    return [
        md("# A change nbkf cannot see\n\nStep `two` changes `a` through `globals()`, which the analysis cannot look "
           "into (it warns `dynamic-namespace`). The pipeline passes `a` from step `one` as it was there (`[1]`), so "
           "step `three` sees `a == [1]`: `nbkf check` must report it."),
        code(["step:one"], "a = [1]"),
        code(["step:two"], "print(len(a))\nglobals()['a'].append(2)"),
        code(["step:three"], "n = len(a)"),
        code(["pipeline-metrics"], "print(n)"),
    ]


@notebook_def
def aliased_mutation():
    return [
        md("# Aliased mutation\n\n`b` is another name for the list `a`; step `two` appends through `b`, so in the "
           "notebook `a` becomes `[1, 2]`. Step `one` passes `a` and `b` on together (one object), step `two` "
           "changes it and passes `a` on: step `three` sees `a == [1, 2]`, as in the notebook."),
        code(["step:one"], "a = [1]\nb = a"),
        code(["step:two"], "b.append(2)"),
        code(["step:three"], "n = len(a)"),
        code(["pipeline-metrics"], "print(n)"),
    ]


@notebook_def
def failing_step():
    return [
        md("# A failing step\n\nStep `b` divides by zero on the second line of its cell (cell 3 as Jupyter counts, "
           "this markdown cell included). Step `c` needs `b`; step `d` needs only `a`."),
        code(["step:a"], "x = 1"),
        code(["step:b"], "w = x + 1\ny = x / 0"),
        code(["step:c"], "z = y + 1"),
        code(["step:d"], "v = x * 2"),
    ]


@notebook_def
def typed_parameters():
    return [
        md("# Typed parameters\n\nAn int and a float parameter; `--param` values are checked against them."),
        code(["pipeline-parameters"], "EPOCHS = 3\nRATE = 0.5"),
        code(["step:train"], "steps = EPOCHS * 2\nscaled = RATE * EPOCHS"),
        code(["step:report"], "summary = '%d steps, %.2f' % (steps, scaled)"),
    ]


@notebook_def
def parallel_sleeps():
    return [
        md("# Independent steps\n\nSteps `left` and `right` both need only `start` and sleep one second each; "
           "`join` needs both."),
        code(["step:start"], "base = 10"),
        code(["step:left"], "import time\ntime.sleep(1.0)\nleft_value = base + 1"),
        code(["step:right"], "import time\ntime.sleep(1.0)\nright_value = base + 2"),
        code(["step:join"], "total = left_value + right_value"),
    ]


@notebook_def
def cached_steps():
    return [
        md("# Caching\n\nOnly the last step reads the parameter `FACTOR`; the first two steps do not."),
        code(["pipeline-parameters"], "FACTOR = 2"),
        code(["step:load"], "numbers = [1, 2, 3]"),
        code(["step:total"], "total = sum(numbers)"),
        code(["step:scale"], "scaled = total * FACTOR"),
    ]


@notebook_def
def stdlib_only():
    return [
        md("# Standard library only\n\nTwo steps passing a value; any Python 3 runs it, without the `kfp` package."),
        code(["step:produce"], "import json\npayload = json.dumps({'a': [1, 2, 3]})"),
        code(["step:consume"], "import json\ncount = len(json.loads(payload)['a'])\nassert count == 3\nprint(count)"),
    ]


@notebook_def
def long_step():
    return [
        md("# A long step\n\nThe second step starts a child process and sleeps a minute, so a test can stop "
           "the run and check that nothing it started is left."),
        code(["step:quick"], "marker = 'started'"),
        code(["step:slow"], "import os, subprocess, sys, time\n"
             "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
             "open(os.environ.get('NBKF_TEST_PIDS', 'pids.txt'), 'w').write(f'{os.getpid()} {child.pid}')\n"
             "time.sleep(60)\nmarker = 'finished'"),
        code(["step:after"], "print(marker)"),
    ]


def main():
    for name, fn in NOTEBOOKS.items():
        result = fn()
        cells, meta = result if isinstance(result, tuple) else (result, None)
        notebook(name, cells, meta)
        print("wrote", name + ".ipynb")


if __name__ == "__main__":
    main()
