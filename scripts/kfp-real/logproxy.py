#!/usr/bin/env python3
"""Logging reverse proxy: logproxy.py LISTEN_PORT UPSTREAM_URL LOGFILE
Forwards every request to UPSTREAM (HTTP), logs request and response (bodies truncated to 4 KiB)."""
import sys, http.server, http.client, urllib.parse, threading, json, time
port, upstream, logfile = int(sys.argv[1]), urllib.parse.urlparse(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
LIMIT = 4096
def clip(b):
    if b is None: return ""
    s = b.decode("utf-8", "replace")
    return s if len(s) <= LIMIT else s[:LIMIT] + f"... [{len(s)} chars]"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _do(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse(); rb = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(rb))); self.end_headers(); self.wfile.write(rb)
        with lock, open(logfile, "a") as f:
            red = {k: ("<redacted>" if k.lower() in ("authorization", "cookie") else v) for k, v in hdrs.items()}
            f.write(f"=== {time.strftime('%H:%M:%S')} {self.command} {self.path}\n>>> headers {json.dumps(red)}\n")
            if body: f.write(">>> body " + clip(body) + "\n")
            f.write(f"<<< {r.status} {r.reason}\n<<< body " + clip(rb) + "\n\n")
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
