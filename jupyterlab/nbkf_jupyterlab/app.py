"""The Jupyter server extension: settings, the ``nbkf serve`` it runs, its ``/nbkf`` route."""

from __future__ import annotations

import sys

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Unicode

from .process import NbkfProcess
from .proxy import NbkfProxyHandler


class NbkfExtension(ExtensionApp):
    """Runs ``nbkf serve`` for the notebooks under Jupyter's root and serves it at
    ``<base_url>/nbkf/`` to signed-in users only."""

    name = "nbkf_jupyterlab"
    load_other_extensions = True

    command = Unicode(
        "", config=True,
        help="The nbkf binary. Default: the NBKF_BIN environment variable, else `nbkf` on PATH.",
    )
    python = Unicode(
        "", config=True,
        help="The Python interpreter that runs the steps of local runs and checks. "
             "Default: the one running Jupyter.",
    )
    kfp_profile = Unicode(
        "", config=True,
        help="The `nbkf config` profile Submit reaches Kubeflow Pipelines with. Default: as "
             "`nbkf submit` decides (KF_PIPELINES_* environment, then the current profile).",
    )
    start_timeout = Float(20.0, config=True, help="Seconds nbkf serve may take to start.")

    def initialize_settings(self) -> None:
        root = self.serverapp.root_dir
        self.nbkf = NbkfProcess(
            command=self.command,
            root=root,
            python=self.python or sys.executable,
            kfp_profile=self.kfp_profile,
            start_timeout=self.start_timeout,
            log=self.log,
        )
        try:
            self.nbkf.target()
        except Exception as e:  # told again, with its hint, on every request
            self.log.warning("nbkf serve is not running: %s", e)

    def initialize_handlers(self) -> None:
        self.handlers.append((r"/nbkf/(.*)", NbkfProxyHandler, {"nbkf": self.nbkf}))

    async def stop_extension(self) -> None:
        self.nbkf.stop()
