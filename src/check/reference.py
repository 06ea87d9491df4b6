# ---- nbkf check: the reference run -------------------------------------------------------
# Runs the notebook's non-`skip` cells top to bottom in this one process, with the same
# IPython-syntax handling steps get, snapshots the values the pipeline passed between
# steps right after the cells that made them final, then loads the pipeline's artifacts
# here (where the notebook's classes exist) and compares, by type.


def _nbkf_file_state(path):
    """A file's bytes, a folder's files (relative path -> bytes), or absent."""
    if _nbkf_os.path.isdir(path):
        state = {}
        for root, _, files in _nbkf_os.walk(path):
            for name in files:
                full = _nbkf_os.path.join(root, name)
                with open(full, "rb") as f:
                    state[_nbkf_os.path.relpath(full, path)] = f.read()
        return state
    if _nbkf_os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    return _NbkfAbsent


def _nbkf_artifact_file_state(serializer, artifact_path):
    """The same view of a carried file's artifact."""
    import tarfile
    import tempfile

    if serializer == "absent":
        return _NbkfAbsent
    if serializer == "tar":
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(artifact_path) as tar:
                tar.extractall(tmp, filter="data")
            return _nbkf_file_state(tmp)
    with open(artifact_path, "rb") as f:
        return f.read()


def _nbkf_snapshot(variable, ns):
    import copy
    import pickle

    if variable.startswith("@file:"):
        return _nbkf_file_state(_nbkf_file_path(variable)), None
    if variable in _NBKF_RANDOM_STATES:
        return _nbkf_get_state(variable), None
    if variable.startswith("@state:"):
        # The whole setting: the pipeline carries its changes, which must all be in it.
        value = _NBKF_STATES[_nbkf_state_name(variable)][0]()
    elif variable.startswith(("@attr:", "@attrs:")):
        value = _nbkf_attribute_value(variable, ns)
    elif variable not in ns:
        return _NbkfAbsent, None
    else:
        value = ns[variable]
    if value is _NbkfAbsent:
        return value, None
    try:
        return copy.deepcopy(value), None
    except Exception:
        pass
    try:
        return pickle.loads(pickle.dumps(value)), None
    except Exception as e:
        return None, "the notebook's value cannot be copied (%s: %s)" % (type(e).__name__, e)


class _NbkfNotComparable(Exception):
    pass


def _nbkf_same(a, b, _seen=None):
    """Equal by type: numpy arrays and pandas objects by value (NaN-aware), floats exactly,
    containers element by element, objects with `==` by it, other objects attribute by
    attribute (cached values left out: they are derived, and filled by whoever looked),
    and the rest by their pickled bytes."""
    import math
    import pickle

    if _seen is None:
        _seen = set()
    if (id(a), id(b)) in _seen:
        return True
    if a is _NbkfAbsent or b is _NbkfAbsent:
        return a is b
    numpy = _nbkf_sys.modules.get("numpy")
    if numpy is not None and (isinstance(a, numpy.ndarray) or isinstance(b, numpy.ndarray)):
        if not (isinstance(a, numpy.ndarray) and isinstance(b, numpy.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(numpy.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except TypeError:
            return bool(numpy.array_equal(a, b))
    if isinstance(a, list) and isinstance(b, list) and type(a) is type(b):
        return len(a) == len(b) and all(_nbkf_same(x, y, _seen) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    bound = getattr(a, "__self__", None)
    if callable(a) and bound is not None and not isinstance(bound, type(_nbkf_sys)) and hasattr(b, "__self__"):
        # A bound method (`a.sum`): the same method of equal objects.
        return getattr(a, "__name__", None) == getattr(b, "__name__", None) and _nbkf_same(bound, b.__self__)
    if type(a).__module__.startswith("pandas") and hasattr(a, "equals"):
        return bool(a.equals(b))
    import types

    if isinstance(a, types.FunctionType):
        # Functions (lambdas and closures carried by value): the same code, defaults and
        # captured values.
        ca, cb = a.__code__, b.__code__
        cells = lambda f: [c.cell_contents for c in (f.__closure__ or ())]
        return (
            ca.co_code == cb.co_code
            and ca.co_names == cb.co_names
            and _nbkf_same(list(ca.co_consts), list(cb.co_consts))
            and _nbkf_same(list(a.__defaults__ or ()), list(b.__defaults__ or ()))
            and _nbkf_same(cells(a), cells(b))
        )
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_nbkf_same(x, y, _seen) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(_nbkf_same(a[k], b[k], _seen) for k in a)
    try:
        r = a == b
        if isinstance(r, bool):
            if r or type(a).__eq__ is not object.__eq__:
                return r
    except Exception:
        pass
    state_a, state_b = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    if isinstance(state_a, dict) and isinstance(state_b, dict) and len(_seen) < 10000:
        _seen.add((id(a), id(b)))
        keys = lambda d: [k for k in d if "cache" not in str(k).lower()]
        if keys(state_a) != keys(state_b):
            return False
        return all(_nbkf_same(state_a[k], state_b[k], _seen) for k in keys(state_a))
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception as e:
        raise _NbkfNotComparable("neither == nor pickle can compare %s values (%s)" % (type(a).__name__, e))


def _nbkf_state_included(got, expected):
    """Whether the changes a step carries for a setting (`@state:`) are all in the
    notebook's setting at that point."""
    if isinstance(got, dict) and set(got) == {"front", "back"} and isinstance(expected, list):
        return all(entry in expected for entry in got["front"] + got["back"])
    if isinstance(got, dict) and isinstance(expected, dict):
        return all(
            (k not in expected) if v == _NBKF_GONE else (k in expected and _nbkf_same(v, expected[k]))
            for k, v in got.items()
        )
    return False


def _nbkf_same_definition(key, value):
    """Whether the notebook's `value` comes from the definition at `key` (cell, first
    line, last line)."""
    origin = _nbkf_origin(value)
    return origin is not None and origin[0] == key[0] and key[1] <= origin[1] <= key[2]


def _nbkf_short(value):
    if value is _NbkfAbsent:
        return "<not defined>"
    try:
        text = repr(value)
    except Exception as e:
        text = "<repr failed: %s>" % e
    text = " ".join(text.split()) if len(text) > 200 else text
    return text if len(text) <= 300 else text[:297] + "..."


def _nbkf_state_digest(state):
    """A generator state is thousands of numbers: show a short digest of it."""
    import hashlib
    import pickle

    return "<generator state %s>" % hashlib.sha256(pickle.dumps(state)).hexdigest()[:12]


def _nbkf_reference(manifest_path, result_path):
    import json
    import types

    global _NBKF_IPYTHON

    with open(manifest_path, encoding="utf-8") as f:
        m = json.load(f)
    _NBKF_IPYTHON = bool(m.get("ipython"))
    _nbkf_os.environ.setdefault("MPLBACKEND", "Agg")
    _nbkf_seed(m.get("seed"))
    _nbkf_track_classes()
    # A kernel finds modules in the notebook's folder (its working directory).
    _nbkf_sys.path.insert(0, "")
    module = types.ModuleType("__main__")
    ns = module.__dict__
    ns["__builtins__"] = _nbkf_builtins
    shell = _NbkfIPython(ns)
    ns.update({"_nbkf_ipython": shell, "get_ipython": lambda: shell, "display": _nbkf_display, "_NbkfSList": _NbkfSList, "_NbkfCaptured": _NbkfCaptured})
    _nbkf_sys.modules["__main__"] = module
    wanted, wanted_before = {}, {}
    for v in m["values"]:
        (wanted_before if v.get("before") else wanted).setdefault(v["cell"], set()).add(v["variable"])
    snapshots, outputs = {}, {}
    result = {"values": [], "metrics": [], "outputs": [], "failure": None}
    saved = (_nbkf_sys.stdout, _nbkf_sys.stderr)
    last_params = max(m["params_cells"]) if m["params_cells"] else None
    for cell in m["cells"]:
        index = cell["index"]
        for variable in wanted_before.get(index, ()):
            snapshots[(variable, index, True)] = _nbkf_snapshot(variable, ns)
        _nbkf_sys.stdout = _NbkfTee(saved[0])
        try:
            _nbkf_run_cell(cell, ns, None)
        except BaseException as e:
            if isinstance(e, SystemExit) and not e.code:
                pass
            else:
                _nbkf_sys.stdout = saved[0]
                result["failure"] = _nbkf_failure("notebook", e)
                break
        finally:
            if isinstance(_nbkf_sys.stdout, _NbkfTee):
                outputs[index] = _nbkf_sys.stdout.copy.getvalue()
            _nbkf_sys.stdout, _nbkf_sys.stderr = saved
        if index == last_params:
            ns.update(m["overrides"])
        for variable in wanted.get(index, ()):
            snapshots[(variable, index, False)] = _nbkf_snapshot(variable, ns)
    if result["failure"] is None:
        for v in m["values"]:
            entry = {k: v.get(k) for k in ("task", "variable", "cell", "before")}
            expected, why = snapshots.get((v["variable"], v["cell"], bool(v.get("before"))), (None, "the notebook never ran that cell"))
            try:
                if v["variable"].startswith("@file:"):
                    got = _nbkf_artifact_file_state(v["serializer"], v["path"])
                elif v["serializer"] == "definition":
                    with open(v["path"], "rb") as f:
                        got = ("definition", tuple(json.loads(f.read().decode("utf-8"))))
                elif v.get("group"):
                    with open(v["path"], "rb") as f:
                        members = _nbkf_group_values(_nbkf_loads(v["serializer"], f.read()))
                    got = members.get(v["variable"], _NbkfAbsent)
                elif v.get("paths"):
                    # The items of a `for:` step: each one's part of the list, in item order.
                    got = []
                    for path in v["paths"]:
                        with open(path, "rb") as f:
                            got.extend(_nbkf_loads(v["serializer"], f.read()))
                else:
                    with open(v["path"], "rb") as f:
                        got = _nbkf_loads(v["serializer"], f.read())
            except Exception as e:
                got, why = None, why or "the pipeline's value cannot be loaded here (%s: %s)" % (type(e).__name__, e)
            if why:
                entry.update(status="not_comparable", reason=why)
            else:
                try:
                    if v["variable"].startswith("@state:"):
                        equal = _nbkf_state_included(got, expected)
                    elif isinstance(got, tuple) and len(got) == 2 and got[0] == "definition":
                        equal = _nbkf_same_definition(got[1], expected)
                        got = "the definition in cell %d, lines %d-%d" % (got[1][0] + 1, got[1][1], got[1][2])
                    else:
                        equal = _nbkf_same(got, expected)
                    entry["status"] = "equal" if equal else "differs"
                except _NbkfNotComparable as e:
                    entry.update(status="not_comparable", reason=str(e))
                show = _nbkf_state_digest if v["variable"] in _NBKF_RANDOM_STATES else _nbkf_short
                entry.update(pipeline=show(got), notebook=show(expected))
            result["values"].append(entry)
        for metric in m["metrics"]:
            expected = ns.get(metric["variable"], _NbkfAbsent)
            entry = dict(metric)
            try:
                entry["status"] = "equal" if float(expected) == float(metric["value"]) else "differs"
            except (TypeError, ValueError):
                entry["status"] = "differs"
            try:
                entry["notebook"] = _nbkf_short(float(expected))
            except (TypeError, ValueError):
                entry["notebook"] = _nbkf_short(expected)
            entry["pipeline"] = _nbkf_short(metric["value"])
            result["metrics"].append(entry)
        for out in m["outputs"]:
            try:
                got = ""
                for path in out.get("paths") or [out["path"]]:
                    with open(path, encoding="utf-8") as f:
                        got += f.read()
            except OSError:
                got = None
            expected = outputs.get(out["cell"])
            entry = {"task": out["task"], "cell": out["cell"]}
            if got is None:
                entry.update(status="not_comparable", reason="the step recorded no output for this cell")
            else:
                entry["status"] = "equal" if got == expected else "differs"
                if got != expected:
                    # Show the first line that differs, not the whole output.
                    a, b = got.splitlines(), (expected or "").splitlines()
                    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                    line = lambda lines: repr(lines[i]) if i < len(lines) else "<no line %d>" % (i + 1)
                    entry.update(pipeline="line %d: %s" % (i + 1, line(a)), notebook="line %d: %s" % (i + 1, line(b)))
            result["outputs"].append(entry)
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
