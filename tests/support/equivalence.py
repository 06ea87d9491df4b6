#!/usr/bin/env python3
"""Checks that a converted pipeline computes what its notebook computes.

Usage: equivalence.py NOTEBOOK PIPELINE.yaml [--root DIR] [--min-compared N] [--wheelhouse DIR]
                      [NAME=VALUE ...]

1. Runs PIPELINE.yaml with the KFP SDK's local runner, through the shared oracle
   `kfp_local_run.py` (SubprocessRunner, use_venv=False), with the given parameter values;
   with --wheelhouse, through `pip_local_run.py` instead: each step's pip preamble installs
   its packages into a new environment from that folder of wheels only, as in a pod.
2. Collects every artifact the steps wrote: routed variables (metadata `nbkf_variable`,
   `nbkf_cell`: the notebook cell after which the value is final) and metrics.
3. Runs the notebook's non-`skip` code cells top to bottom in ONE IPython shell (the real
   IPython, not nbkf's translation), with the same parameter values set right after the
   parameters cell, and snapshots each routed variable after its cell.
4. Compares: numpy arrays and pandas objects by value (NaN-aware), floats exactly,
   containers element by element, other objects by equality or pickled bytes.

Prints a JSON report and exits 0 only when at least --min-compared values were compared
(default 1) and none differs.
"""
import copy
import glob
import io
import json
import math
import atexit
import os
import shutil
import pickle
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("NBKF_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")
ORACLE = os.path.join(SHARED, "oracles", "kfp_local_run.py")
ABSENT = object()
# The report follows this line (the notebook's own prints come before it).
REPORT_MARK = "=== nbkf equivalence report ==="


def parse_args(argv):
    opts = {"root": None, "min": 1, "params": {}, "wheelhouse": None}
    rest = []
    it = iter(argv)
    for a in it:
        if a == "--root":
            opts["root"] = next(it)
        elif a == "--min-compared":
            opts["min"] = int(next(it))
        elif a == "--wheelhouse":
            opts["wheelhouse"] = next(it)
        elif "=" in a and len(rest) >= 2:
            k, v = a.split("=", 1)
            opts["params"][k] = v
        else:
            rest.append(a)
    if len(rest) != 2:
        sys.exit(__doc__)
    return rest[0], rest[1], opts


def run_pipeline(pipeline, root, params, wheelhouse=None):
    if wheelhouse:
        runner = [os.path.join(HERE, "pip_local_run.py"), pipeline, "--wheelhouse", wheelhouse]
    else:
        runner = [ORACLE, pipeline]
    cmd = [sys.executable] + runner + ["--root", root] + ["%s=%s" % kv for kv in params.items()]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or "RUN OK" not in proc.stdout:
        print(proc.stdout[-6000:], file=sys.stderr)
        raise SystemExit("the pipeline failed under the KFP local runner")
    return proc.stdout


def collect_artifacts(root):
    """[(task, kind, metadata, path)] for every artifact the run wrote."""
    runs = sorted(glob.glob(os.path.join(root, "*")))
    if not runs:
        raise SystemExit("no run directory under %s" % root)
    found = []
    # A `for:` step's items run in `for-loop-<n>-iteration-<i>/<task>/`.
    for out_file in glob.glob(os.path.join(runs[-1], "**", "executor_output.json"), recursive=True):
        task = os.path.basename(os.path.dirname(out_file))
        with open(out_file) as f:
            data = json.load(f)
        for name, entry in (data.get("artifacts") or {}).items():
            for art in entry.get("artifacts", []):
                found.append((task, name, art.get("metadata") or {}, art.get("uri")))
    return found


class Captured:
    """What nbkf's `%%capture var` value unpickles to here: its stdout and stderr."""


class MainUnpickler(pickle.Unpickler):
    """Finds classes the notebook defined (pickled as `__main__.X`) in the reference run."""

    namespace = {}

    def find_class(self, module, name):
        if module == "__main__" and name in self.namespace:
            return self.namespace[name]
        if module == "builtins" and name == "__import__":
            # nbkf writes the notebook's classes as `getattr(__import__("__main__"), name)`.
            import types

            main = types.SimpleNamespace(**self.namespace)
            main._NbkfCaptured, main._NbkfSList = Captured, list
            return lambda n, *rest: main if n == "__main__" else __import__(n, *rest)
        if module == "__main__" and name == "_NbkfSList":
            # nbkf's stand-in for IPython's SList (`x = !cmd`); compared as a list.
            return list
        if module == "__main__" and name == "_NbkfCaptured":
            # nbkf's stand-in for IPython's CapturedIO (`%%capture var`).
            return Captured
        return super().find_class(module, name)


def file_state(path):
    """A file's bytes, a folder's files (relative path -> bytes), or ABSENT."""
    if os.path.isdir(path):
        state = {}
        for root, _, files in os.walk(path):
            for name in files:
                full = os.path.join(root, name)
                with open(full, "rb") as f:
                    state[os.path.relpath(full, path)] = f.read()
        return state
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    return ABSENT


def load_artifact(meta, path):
    serializer = meta.get("nbkf_serializer")
    if serializer == "absent":
        return ABSENT
    if serializer == "definition":
        with open(path, "rb") as f:
            return ("definition", tuple(json.loads(f.read().decode("utf-8"))))
    if serializer == "module":
        import importlib

        with open(path, "rb") as f:
            return importlib.import_module(f.read().decode("utf-8"))
    if meta.get("nbkf_variable", "").startswith("@file:"):
        if serializer == "tar":
            import tarfile

            tmp = tempfile.mkdtemp()
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
            return file_state(tmp)
    with open(path, "rb") as f:
        data = f.read()
    if meta.get("nbkf_variable", "").startswith("@file:"):
        return data
    if serializer == "numpy":
        import numpy

        return numpy.load(io.BytesIO(data), allow_pickle=False)
    if serializer == "dill":
        import dill

        return dill.loads(data)
    if serializer == "cloudpickle":
        import cloudpickle  # noqa: F401
    value = MainUnpickler(io.BytesIO(data)).load()
    if meta.get("nbkf_group"):
        return group_values(value)
    return value


def group_values(payload):
    """The members of a group artifact (aliases saved together), numpy views rebuilt."""
    values = dict(payload["values"])
    if payload["views"]:
        import numpy

        arrays = dict(payload["arrays"])
        arrays.update(values)
        for name, (key, offset, shape, strides, dtype, writeable) in payload["views"].items():
            values[name] = numpy.ndarray(shape, dtype, buffer=arrays[key], offset=offset, strides=strides)
    return values


# ---- process state, as the reference run sees it ----------------------------------------

GONE = "nbkf:removed"


def state(name):
    """The whole of a process setting the pipeline carries as `@state:<name>`."""
    import warnings

    if name == "os.environ":
        return dict(os.environ)
    if name == "pandas.options":
        import pandas

        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key in pandas._config.config._registered_options:
                try:
                    out[key] = pandas.get_option(key)
                except Exception:
                    pass
        return out
    if name == "numpy.printoptions":
        import numpy

        return numpy.get_printoptions()
    if name == "numpy.errstate":
        import numpy

        return numpy.geterr()
    if name == "matplotlib.rcParams":
        import matplotlib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(matplotlib.rcParams)
    if name == "warnings.filters":
        return list(warnings.filters)
    if name == "sys.path":
        return list(sys.path)
    if name == "sys.recursionlimit":
        return {"limit": sys.getrecursionlimit()}
    if name == "torch.default_dtype":
        import torch

        return {"dtype": torch.get_default_dtype()}
    if name == "sklearn.config":
        import sklearn

        return sklearn.get_config()
    raise SystemExit("unknown setting %s" % name)


def state_included(got, expected):
    """Every change the pipeline carries for a setting is in the notebook's setting."""
    if isinstance(got, dict) and set(got) == {"front", "back"} and isinstance(expected, list):
        return all(entry in expected for entry in got["front"] + got["back"])
    return all((k not in expected) if v == GONE else (k in expected and same(v, expected[k])) for k, v in got.items())


def module_attribute(dotted):
    import importlib

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            obj = getattr(obj, part)
        return getattr(obj, parts[-1], ABSENT)
    return ABSENT


def data_attributes(obj):
    import types

    code = (types.FunctionType, classmethod, staticmethod, property, type, types.MethodType)
    return {k: v for k, v in vars(obj).items() if not (k.startswith("__") and k.endswith("__")) and not isinstance(v, code) and k != "_abc_impl"}


CLASS_ORIGINS = {}


def track_classes():
    """Where each class the notebook defines comes from: (cell, line of its statement)."""
    import builtins

    original = builtins.__build_class__

    def build_class(body, name, *bases, **kwargs):
        cls = original(body, name, *bases, **kwargs)
        filename = body.__code__.co_filename
        if filename.startswith("<cell "):
            CLASS_ORIGINS[cls] = (int(filename[6:-1]), body.__code__.co_firstlineno)
        return cls

    builtins.__build_class__ = build_class


def origin(value):
    """(cell index, line) of the notebook definition `value` comes from, or None."""
    for _ in range(50):
        if value is None:
            return None
        if isinstance(value, type):
            return CLASS_ORIGINS.get(value)
        code = getattr(value, "__code__", None)
        if code is not None:
            name = code.co_filename
            return (int(name[6:-1]), code.co_firstlineno) if name.startswith("<cell ") else None
        value = getattr(value, "__wrapped__", None) or getattr(value, "__func__", None)
    return None


def code_cells(notebook_path, chain=(), start=0):
    """The code cells to run, as (index, tags, source, bound_by_caller). A cell tagged
    `notebook:<name>` runs the notebook its metadata's `notebook_path` names: its cells
    follow it, counted on (as nbkf counts them), and its parameters cell leaves alone the
    names the caller has bound (papermill's rule)."""
    with open(notebook_path, encoding="utf-8-sig") as f:
        nb = json.load(f)
    path = os.path.realpath(notebook_path)
    if path in chain:
        raise SystemExit("notebook cycle through %s" % notebook_path)
    cells = []
    index = start
    for cell in nb["cells"]:
        here = index
        index += 1
        if cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata") or {}
        tags = metadata.get("tags") or []
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if any(t.startswith("notebook:") for t in tags):
            sub = os.path.join(os.path.dirname(notebook_path), metadata["notebook_path"])
            inner, index = code_cells(sub, chain + (path,), index)
            cells.extend(inner)
            continue
        cells.append((here, tags, source, bool(chain)))
    return (cells, index) if chain else cells


def snapshot(value):
    try:
        return copy.deepcopy(value)
    except Exception:
        try:
            return pickle.loads(pickle.dumps(value))
        except Exception:
            return value


def reference_run(notebook_path, wanted, params):
    """Runs the notebook in one IPython shell; returns ({(variable, cell): value}, namespace)."""
    from IPython.core.interactiveshell import InteractiveShell

    os.environ.setdefault("MPLBACKEND", "Agg")
    # A kernel started for the notebook finds modules in the notebook's folder.
    sys.path.insert(0, os.path.dirname(os.path.abspath(notebook_path)))
    track_classes()
    shell = InteractiveShell.instance()
    # The base shell has no GUI event loop and raises on `%matplotlib`; a kernel (where
    # notebooks run) does nothing for the inline backend, so do nothing here too.
    shell.enable_gui = lambda gui=None: None
    values = {}
    for index, tags, source, in_sub in code_cells(notebook_path):
        if "skip" in tags:
            continue
        is_parameters = "pipeline-parameters" in tags or "parameters" in tags
        if in_sub and is_parameters:
            # A sub-notebook's parameter the caller has a value for keeps the caller's.
            import ast

            kept = [st for st in ast.parse(source).body
                    if not (isinstance(st, ast.Assign) and len(st.targets) == 1
                            and isinstance(st.targets[0], ast.Name) and st.targets[0].id in shell.user_ns)]
            source = "\n".join(ast.unparse(st) for st in kept)
        # Functions and classes defined in a cell say which cell: `<cell N>`.
        shell.compile.get_code_name = lambda raw, transformed, number, index=index: "<cell %d>" % index
        result = shell.run_cell(source, store_history=False)
        if not result.success:
            raise SystemExit("the notebook itself fails in cell %d: %r" % (index + 1, result.error_in_exec or result.error_before_exec))
        if "pipeline-parameters" in tags or "parameters" in tags:
            for k, v in params.items():
                try:
                    value = json.loads(v)
                except ValueError:
                    value = v
                # A list or dict parameter travels as JSON text (`'"[1, 2]"'` for the
                # pipeline): the notebook gets the list.
                if isinstance(value, str) and isinstance(shell.user_ns.get(k), (list, dict)):
                    value = json.loads(value)
                shell.user_ns[k] = value
        for variable in wanted.get(index, ()):
            if variable == "@random":
                import random

                values[(variable, index)] = random.getstate()
            elif variable.startswith("@file:"):
                values[(variable, index)] = file_state(variable[len("@file:"):])
            elif variable == "@numpy.random":
                import numpy

                values[(variable, index)] = numpy.random.get_state()
            elif variable.startswith("@state:"):
                values[(variable, index)] = snapshot(state(variable[len("@state:"):]))
            elif variable.startswith("@attr:"):
                values[(variable, index)] = snapshot(module_attribute(variable[len("@attr:"):]))
            elif variable.startswith("@attrs:"):
                owner = shell.user_ns.get(variable[len("@attrs:"):], ABSENT)
                values[(variable, index)] = ABSENT if owner is ABSENT else snapshot(data_attributes(owner))
            else:
                values[(variable, index)] = snapshot(shell.user_ns.get(variable, ABSENT))
    return values, shell.user_ns


def same(a, b):
    """Whether two values are equal, by type: arrays and frames by value (NaN-aware)."""
    if a is ABSENT or b is ABSENT:
        return a is b
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None and (isinstance(a, numpy.ndarray) or isinstance(b, numpy.ndarray)):
        a, b = numpy.asarray(a), numpy.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(numpy.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except TypeError:
            return bool(numpy.array_equal(a, b))
    if all(hasattr(v, "stdout") and hasattr(v, "stderr") for v in (a, b)):
        # `%%capture var`: IPython's CapturedIO and nbkf's stand-in, by what they captured.
        return a.stdout == b.stdout and a.stderr == b.stderr
    if isinstance(a, list) and isinstance(b, list):
        # IPython's SList and nbkf's stand-in for it are both lists of lines.
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if hasattr(a, "equals") and type(a).__module__.startswith("pandas"):
        return bool(a.equals(b))
    import types

    if isinstance(a, types.FunctionType):
        # Lambdas and closures carried by value: the same code, defaults and captured values.
        cells = lambda f: [c.cell_contents for c in (f.__closure__ or ())]
        return (a.__code__.co_code == b.__code__.co_code and a.__code__.co_names == b.__code__.co_names
                and same(list(a.__defaults__ or ()), list(b.__defaults__ or ())) and same(cells(a), cells(b)))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        r = a == b
        if isinstance(r, bool) and (r or type(a).__eq__ is not object.__eq__):
            return r
    except Exception:
        pass
    # Objects without their own `==`: the same class and equal attributes.
    state_a, state_b = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    if isinstance(state_a, dict) and isinstance(state_b, dict):
        return state_a.keys() == state_b.keys() and all(same(state_a[k], state_b[k]) for k in state_a)
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:
        return False


def short(v):
    text = repr(v) if v is not ABSENT else "<not defined>"
    return text if len(text) < 300 else text[:300] + "..."


def main(argv):
    notebook, pipeline, opts = parse_args(argv)
    root = opts["root"]
    if not root:
        root = tempfile.mkdtemp(prefix="nbkf-equiv-")
        atexit.register(shutil.rmtree, root, True)
    notebook, pipeline, root = os.path.abspath(notebook), os.path.abspath(pipeline), os.path.abspath(root)
    # Steps and the notebook may write files: both runs get a fresh working directory.
    work = tempfile.mkdtemp(prefix="nbkf-equiv-work-")
    atexit.register(shutil.rmtree, work, True)
    os.chdir(os.path.join(work))
    os.makedirs("pipeline", exist_ok=True)
    os.chdir("pipeline")
    run_pipeline(pipeline, root, opts["params"], opts["wheelhouse"])
    os.chdir(work)
    os.makedirs("notebook", exist_ok=True)
    os.chdir("notebook")
    artifacts = collect_artifacts(root)
    wanted = {}
    routed = []
    metrics = []
    for task, name, meta, path in artifacts:
        if meta.get("nbkf_group"):
            for member in meta["nbkf_group"]:
                cell = int(meta["nbkf_cells"][member])
                wanted.setdefault(cell, set()).add(member)
                routed.append((task, dict(meta, nbkf_variable=member, nbkf_cell=cell, nbkf_member=True), path))
        elif "nbkf_variable" in meta:
            wanted.setdefault(int(meta["nbkf_cell"]), set()).add(meta["nbkf_variable"])
            routed.append((task, meta, path))
        elif meta and name == "metrics" or all(isinstance(v, (int, float)) for v in meta.values()) and meta and "nbkf_variable" not in meta:
            metrics.append((task, meta))
    values, namespace = reference_run(notebook, wanted, opts["params"])
    MainUnpickler.namespace = namespace
    report = {"compared": 0, "differences": [], "variables": [], "metrics": {}}
    # The items of a `for:` step each saved their part of a list: concatenated in item order,
    # they are the list the notebook's loop made.
    items = {}
    for task, meta, path in routed:
        if "nbkf_iteration" in meta:
            items.setdefault((task, meta["nbkf_variable"]), []).append((int(meta["nbkf_iteration"]), meta, path))
    routed = [r for r in routed if "nbkf_iteration" not in r[1]]
    for (task, variable), parts in items.items():
        parts.sort(key=lambda p: p[0])
        routed.append((task, dict(parts[0][1], nbkf_items=[(m, p) for _, m, p in parts]), None))
    for task, meta, path in sorted(routed, key=lambda r: (r[0], r[1]["nbkf_variable"])):
        variable, cell = meta["nbkf_variable"], int(meta["nbkf_cell"])
        if "nbkf_items" in meta:
            got = [x for m, p in meta["nbkf_items"] for x in load_artifact(m, p)]
            report["items"] = report.get("items", 0) + len(meta["nbkf_items"])
        else:
            got = load_artifact(meta, path)
        if meta.get("nbkf_member"):
            got = got.get(variable, ABSENT)
        expected = values[(variable, cell)]
        report["compared"] += 1
        report["variables"].append("%s:%s" % (task, variable))
        if variable.startswith("@state:"):
            equal = state_included(got, expected)
        elif isinstance(got, tuple) and len(got) == 2 and got[0] == "definition":
            o = origin(expected)
            equal = o is not None and o[0] == got[1][0] and got[1][1] <= o[1] <= got[1][2]
        else:
            equal = same(got, expected)
        if not equal:
            report["differences"].append({"task": task, "variable": variable, "cell": cell + 1, "pipeline": short(got), "notebook": short(expected)})
    for task, meta in metrics:
        for key, got in meta.items():
            variable = key.replace("-", "_")
            expected = namespace.get(variable, namespace.get(key, ABSENT))
            report["compared"] += 1
            report["metrics"][key] = got
            if expected is ABSENT or float(expected) != float(got):
                report["differences"].append({"task": task, "metric": key, "pipeline": got, "notebook": short(expected)})
    print(REPORT_MARK)
    print(json.dumps(report, indent=2, default=str))
    if report["differences"] or report["compared"] < opts["min"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
