"""Compiles KFP DSL scripts as `kfp dsl compile --py SCRIPT --function pipeline --output OUT` does (the same
function of the KFP SDK's command line, called once per script in one process, so the SDK is
imported once).

    dsl_compile.py SCRIPT OUT [SCRIPT OUT ...]

Prints `OK: SCRIPT` per compiled script, or `FAILED: SCRIPT: error`; exits non-zero if any
failed.
"""

import sys
import traceback

from kfp.cli import compile_


def main(args):
    if not args or len(args) % 2:
        sys.exit(__doc__)
    failed = 0
    for script, output in zip(args[::2], args[1::2]):
        try:
            compile_.compile_.callback(py=script, output=output, function_name="pipeline")
            print(f"OK: {script}")
        except Exception as e:  # reported per script
            failed += 1
            print(f"FAILED: {script}: {type(e).__name__}: {e}")
            traceback.print_exc()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
