"""Parses an Atom feed with lxml (libxml2 underneath) and answers with XPath results."""
from flask import Flask, jsonify
from lxml import etree

ATOM = {"a": "http://www.w3.org/2005/Atom"}
app = Flask(__name__)


@app.get("/releases")
def releases():
    tree = etree.parse("feed.xml")
    titles = tree.xpath("//a:entry[a:category/@term='release']/a:title/text()", namespaces=ATOM)
    return jsonify(releases=titles, feed=tree.findtext("a:title", namespaces=ATOM))


if __name__ == "__main__":
    from waitress import serve

    serve(app, host="0.0.0.0", port=5000)
