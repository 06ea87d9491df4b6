"""``<base_url>/nbkf/<path>``: the API of the ``nbkf serve`` the extension runs, for signed-in
users only. The proxy adds nbkf's token (the browser never sees it), passes the answer on as
it comes (event streams included) and answers in nbkf's error shape when nbkf cannot be
reached."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.ioloop import IOLoop

from .process import NbkfProcess, Target, Unavailable

# Answer headers passed on to the browser; hop-by-hop and length headers are the proxy's own.
_PASSED = {"content-type", "cache-control", "x-nbkf-version", "retry-after", "location"}
# Requests that may last (runs' event streams, checks, submissions that wait).
_LONG = 3600.0
_SHORT = 300.0


class _NoAnswer(Exception):
    """The connection to nbkf serve failed before it answered anything."""


class NbkfProxyHandler(APIHandler):
    """Forwards GET and POST under ``/nbkf/`` to ``nbkf serve``."""

    auth_resource = "nbkf"

    def initialize(self, nbkf: NbkfProcess) -> None:
        self.nbkf = nbkf
        self._closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._forward(path)

    def _error(self, status: int, code: str, message: str, hint: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": {"code": code, "message": message, "hint": hint}}))

    async def _forward(self, path: str) -> None:
        # Twice at most: a server found dead on the first try is started again.
        for attempt in (1, 2):
            try:
                target = await IOLoop.current().run_in_executor(None, self.nbkf.target)
            except Unavailable as e:
                self._error(503, "nbkf-unavailable", e.message, e.hint)
                return
            try:
                await self._fetch(target, path)
                return
            except _NoAnswer:
                gone = await IOLoop.current().run_in_executor(None, self.nbkf.gone, target)
                if attempt == 1 and gone:
                    continue
                self._error(502, "nbkf-unreachable", "nbkf serve does not accept connections",
                            "the Jupyter server's log says what happened to it")
                return

    async def _fetch(self, target: Target, path: str) -> None:
        """Forwards one request; raises `_NoAnswer` when the connection failed before any answer."""
        url = f"{target.base}/{path}"
        if self.request.query:
            url += f"?{self.request.query}"
        headers = {"Authorization": f"token {target.token}",
                   "Accept": self.request.headers.get("Accept", "*/*")}
        body = None
        if self.request.method == "POST":
            body = self.request.body or b""
            headers["Content-Type"] = self.request.headers.get("Content-Type", "application/json")
        started = False

        def on_header(line: str) -> None:
            nonlocal started
            if line.startswith("HTTP/"):
                start = httputil.parse_response_start_line(line.strip())
                if start.code == 100:
                    return
                self.set_status(start.code, start.reason)
                self.clear_header("Content-Type")
                started = True
            elif started and ":" in line:
                name, _, value = line.partition(":")
                if name.strip().lower() in _PASSED:
                    self.set_header(name.strip(), value.strip())

        def on_chunk(chunk: bytes) -> None:
            if self._closed:
                # The browser went away: stop reading (this ends the upstream request).
                raise StreamClosedError()
            self.write(chunk)
            self.flush()

        long = path.endswith("/events") or "wait" in url
        request = HTTPRequest(
            url, method=self.request.method, headers=headers, body=body,
            connect_timeout=10.0, request_timeout=_LONG if long else _SHORT,
            header_callback=on_header, streaming_callback=on_chunk, follow_redirects=False,
            decompress_response=False,
        )
        try:
            await AsyncHTTPClient().fetch(request, raise_error=False)
        except StreamClosedError:
            return
        except OSError as e:  # refused, reset
            if not started:
                raise _NoAnswer() from e
            self.log.warning("nbkf proxy: %s: %s", path, e)
        except Exception as e:  # timeouts
            if not started and not self._finished:
                self._error(502, "nbkf-unreachable", f"nbkf serve did not answer: {e}",
                            "try again; the Jupyter server's log says what happened to it")
                return
            self.log.warning("nbkf proxy: %s: %s", path, e)
        if not self._finished:
            try:
                self.finish()
            except StreamClosedError:
                pass
