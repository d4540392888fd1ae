"""Answers what the database layer would send, without a database: psycopg2's own quoting."""
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from psycopg2.extensions import adapt, libpq_version


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(
            {
                "driver": psycopg2.__version__.split()[0],
                "libpq_major": libpq_version() // 10000,
                "quoted": adapt("O'Reilly").getquoted().decode(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
