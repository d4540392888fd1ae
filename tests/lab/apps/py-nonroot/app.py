"""Keeps a visit log in a writable data folder while running as an unprivileged user."""
import os
import pathlib

from flask import Flask
from waitress import serve

DATA = pathlib.Path(os.environ.get("DATA_DIR", "/app/data"))
app = Flask(__name__)


@app.get("/")
def visit():
    log = DATA / "visits.log"
    with log.open("a", encoding="utf-8") as fh:
        fh.write("visit\n")
    count = len(log.read_text(encoding="utf-8").splitlines())
    return f"uid={os.getuid()} data={DATA} writable=yes visits={count}\n", 200, {"Content-Type": "text/plain"}


if __name__ == "__main__":
    serve(app, host="0.0.0.0", port=8080)
