"""nbkf's stand-in for the `kfp` package, used by `nbkf run` and `nbkf check`.

It provides just what nbkf's step programs use (the artifact types of `kfp.dsl` and the
executor entry point `kfp.dsl.executor_main`), so pipelines run locally without the KFP
SDK installed. On a cluster, the real `kfp` package runs the same step programs.
"""
__version__ = "nbkf-shim"
