"""A minimal HTTP CONNECT proxy for tests: tunnels each CONNECT to its target and logs
the target, so a test can prove a client went through the proxy (HTTPS_PROXY).

Usage: connect_proxy.py LOG_FILE
Prints `LISTENING http://127.0.0.1:PORT` once it accepts connections; appends one line
per tunnel (`CONNECT host:port`) to LOG_FILE. Loopback only; runs until killed.
"""

import select
import socket
import socketserver
import sys


class Tunnel(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline(8192).decode("latin-1").split()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # the rest of the request head
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = request[1].rpartition(":")
        with open(sys.argv[1], "a", encoding="utf-8") as log:
            log.write(f"CONNECT {request[1]}\n")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError as e:
            self.wfile.write(f"HTTP/1.1 502 Bad Gateway\r\nContent-Length: {len(str(e))}\r\n\r\n{e}".encode())
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 30)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    with Server(("127.0.0.1", 0), Tunnel) as server:
        print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
        server.serve_forever()
