#!/usr/bin/env python3
"""Runs a pipeline YAML with the KFP SDK's local runner as a cluster would: every step's
pip preamble installs the step's packages (and `kfp` without its dependencies) into a
fresh Python environment, from a local package index only.

Usage: pip_local_run.py PIPELINE.yaml --wheelhouse DIR [--root DIR] [NAME=VALUE ...]

The KFP SDK loads the YAML and runs it with `kfp.local.SubprocessRunner`; the one change
is where each task runs: instead of this interpreter (`use_venv=False`) or a venv per task
that upgrades pip from PyPI (`use_venv=True`), each distinct preamble gets its own new
venv (tasks with the same preamble share it: the same install into the same empty
environment gives the same result). pip may only install from DIR (`PIP_NO_INDEX`,
`PIP_FIND_LINKS`), so a package name that does not exist, or one a step needs and does
not install, fails the run here rather than in a pod.

Prints `RUN OK` or `RUN FAILED: ...`, like the shared oracle `kfp_local_run.py`.
"""
import atexit
import shutil
import hashlib
import json
import os
import sys
import tempfile
import traceback
import venv


def parse(argv):
    opts = {"root": None, "wheelhouse": None, "params": {}, "pipeline": None}
    it = iter(argv)
    for a in it:
        if a == "--root":
            opts["root"] = next(it)
        elif a == "--wheelhouse":
            opts["wheelhouse"] = next(it)
        elif "=" in a and opts["pipeline"] is not None:
            k, v = a.split("=", 1)
            try:
                opts["params"][k] = json.loads(v)
            except ValueError:
                opts["params"][k] = v
        else:
            opts["pipeline"] = a
    if not opts["pipeline"] or not opts["wheelhouse"]:
        sys.exit(__doc__)
    return opts


def main(argv):
    opts = parse(argv)
    os.environ["PIP_NO_INDEX"] = "1"
    os.environ["PIP_FIND_LINKS"] = os.path.abspath(opts["wheelhouse"])
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    from kfp import components, local
    from kfp.local import status, subprocess_task_handler as handler

    envs = {}
    base = tempfile.mkdtemp(prefix="nbkf-pip-envs-")
    # The environments (about 0.7 GB each with their packages) go when the run ends.
    atexit.register(shutil.rmtree, base, ignore_errors=True)

    def environment_for(command):
        preamble = command[2] if command[:2] == ["sh", "-c"] else ""
        key = hashlib.sha256(preamble.encode("utf-8")).hexdigest()[:16]
        if key not in envs:
            path = os.path.join(base, key)
            venv.create(path, with_pip=True)
            envs[key] = os.path.join(path, "bin", "python")
            print("nbkf: new environment %s for a task's preamble" % key, flush=True)
        return envs[key]

    def run(self):
        python = environment_for(self.full_command)
        command = handler.replace_python_executable(self.full_command, python)
        code = handler.run_local_subprocess(full_command=command, env_vars=self.env_vars)
        return status.Status.SUCCESS if code == 0 else status.Status.FAILURE

    handler.SubprocessTaskHandler.run = run
    root = opts["root"]
    if not root:
        root = tempfile.mkdtemp(prefix="nbkf-pip-run-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root, raise_on_error=True)
    pipeline = components.load_component_from_file(opts["pipeline"])
    try:
        pipeline(**opts["params"])
    except Exception as e:
        print("RUN FAILED: %s: %s" % (type(e).__name__, e))
        traceback.print_exc(limit=3)
        return 1
    print("RUN OK; %d environment(s)" % len(envs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
