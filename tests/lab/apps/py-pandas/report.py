"""Serves a small pandas/numpy report over the standard library's HTTP server."""
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd


def report():
    df = pd.read_csv("sales.csv")
    df["revenue"] = df["units"] * df["price"]
    by_region = df.groupby("region")["revenue"].sum().round(2)
    return {
        "revenue": {k: float(v) for k, v in by_region.items()},
        "units_std": round(float(np.std(df["units"].to_numpy())), 3),
    }


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(report(), sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("", 8050), Handler).serve_forever()
