"""A small Flask app factory, the layout `flask --app app` and gunicorn expect."""
import os

from flask import Flask, jsonify, render_template


def create_app():
    app = Flask(__name__)
    app.config["GREETING"] = os.environ.get("GREETING", "hello")

    @app.get("/")
    def index():
        return render_template("index.html", greeting=app.config["GREETING"])

    @app.get("/api/status")
    def status():
        return jsonify(service="flask-gunicorn", greeting=app.config["GREETING"])

    return app
