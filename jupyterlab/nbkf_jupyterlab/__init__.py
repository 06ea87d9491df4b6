"""nbkf's JupyterLab extension: the pipeline beside the notebook.

Two halves, installed together by one ``pip install``:

- a Jupyter server extension (:class:`NbkfExtension`) that starts ``nbkf serve`` on a free
  loopback port with a random token and proxies ``<base_url>/nbkf/...`` to it behind
  Jupyter's own authentication, so the browser never holds nbkf's token;
- a prebuilt JupyterLab 4 extension (``share/jupyter/labextensions/nbkf-jupyterlab``): the
  *Pipeline* side panel, step badges and diagnostics in the notebook, and the Tag, Compile,
  Run locally, Check and Submit actions.
"""

from .app import NbkfExtension

__version__ = "0.1.0"
__all__ = ["NbkfExtension", "__version__"]


def _jupyter_labextension_paths():
    """Where JupyterLab finds the prebuilt frontend extension."""
    return [{"src": "labextension", "dest": "nbkf-jupyterlab"}]


def _jupyter_server_extension_points():
    """The server extension Jupyter loads (enabled by the installed config file)."""
    return [{"module": "nbkf_jupyterlab", "app": NbkfExtension}]
