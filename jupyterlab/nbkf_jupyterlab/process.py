"""The ``nbkf serve`` process the server extension runs: started on a free loopback port with a
random token, restarted on demand when it has died, stopped with the Jupyter server."""

from __future__ import annotations

import ctypes
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass

_ADDRESS = re.compile(r"(http://127\.0\.0\.1:(\d+))/\?token=")
_PR_SET_PDEATHSIG = 1


class Unavailable(Exception):
    """``nbkf serve`` cannot be reached: why, and what to do."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Target:
    """Where a running ``nbkf serve`` listens, and the token it wants."""

    base: str
    token: str


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Asks Linux to stop the child when Jupyter dies without cleaning up (``kill -9``)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


class NbkfProcess:
    """One ``nbkf serve`` for one Jupyter server."""

    def __init__(self, command: str, root: str, python: str, kfp_profile: str,
                 start_timeout: float, log: logging.Logger):
        self.command = command
        self.root = root
        self.python = python
        self.kfp_profile = kfp_profile
        self.start_timeout = start_timeout
        self.log = log
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._target: Target | None = None
        self._stderr: deque[str] = deque(maxlen=20)

    def binary(self) -> str | None:
        """The nbkf binary: the configured one, else ``NBKF_BIN``, else ``nbkf`` on ``PATH``."""
        wanted = self.command or os.environ.get("NBKF_BIN") or "nbkf"
        return shutil.which(wanted)

    def target(self) -> Target:
        """The running server, started (or started again) when needed. Blocks while starting."""
        with self._lock:
            if self._process is not None and self._process.poll() is None and self._target:
                return self._target
            if self._process is not None:
                self.log.warning("nbkf serve stopped (exit %s); starting it again", self._process.poll())
            return self._start()

    def _start(self) -> Target:
        binary = self.binary()
        if binary is None:
            wanted = self.command or os.environ.get("NBKF_BIN") or "nbkf"
            raise Unavailable(
                f"the nbkf binary was not found ({wanted!r} is not an executable file nor on PATH)",
                "install nbkf and put it on the PATH Jupyter starts with, or set "
                "c.NbkfExtension.command (or NBKF_BIN) to its path, then restart JupyterLab",
            )
        token = secrets.token_urlsafe(32)
        args = [binary, "serve", "--root", self.root, "--host", "127.0.0.1", "--port", "0",
                "--python", self.python]
        if self.kfp_profile:
            args += ["--kfp-profile", self.kfp_profile]
        # The token travels in the environment, never on a command line others can read.
        env = dict(os.environ, NBKF_SERVE_TOKEN=token)
        self._stderr.clear()
        try:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=env, text=True, bufsize=1,
                                       preexec_fn=_die_with_parent)
        except OSError as e:
            raise Unavailable(f"cannot start {binary}: {e}", "check that it is an nbkf binary for this machine") from e
        self._process = process
        found: list[str] = []
        ready = threading.Event()

        def read_stdout() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                match = _ADDRESS.search(line)
                if match and not found:
                    found.append(match.group(1))
                    ready.set()
                elif line.strip():
                    self.log.info("nbkf serve: %s", line.rstrip())
            ready.set()

        def read_stderr() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                self._stderr.append(line.rstrip())
                self.log.info("nbkf serve: %s", line.rstrip())

        threading.Thread(target=read_stdout, name="nbkf-serve-stdout", daemon=True).start()
        threading.Thread(target=read_stderr, name="nbkf-serve-stderr", daemon=True).start()
        if not ready.wait(self.start_timeout) or not found:
            self._kill()
            said = "; ".join(line for line in self._stderr if line) or "nothing"
            raise Unavailable(
                f"nbkf serve did not start within {self.start_timeout:g} s (it said: {said})",
                f"run `{binary} serve --root {self.root}` in a terminal to see why",
            )
        self._target = Target(base=found[0], token=token)
        self.log.info("nbkf serve (pid %d) listens on %s for root %s", process.pid, found[0], self.root)
        return self._target

    def gone(self, target: Target) -> bool:
        """After a refused connection to `target`: whether that server has exited (waiting up to
        a second for it to be reaped), so the next `target()` starts a new one."""
        with self._lock:
            process = self._process
            if process is None or self._target != target:
                return True
            try:
                process.wait(1)
            except subprocess.TimeoutExpired:
                return False
            self.log.warning("nbkf serve stopped (exit %s)", process.returncode)
            return True

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 5 s)."""
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        process, self._process, self._target = self._process, None, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int | None:
        """The running server's process id, if any."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None
