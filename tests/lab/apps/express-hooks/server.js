const express = require("express");
const morgan = require("morgan");
const fs = require("fs");
const path = require("path");

const app = express();
const port = Number(process.env.PORT || 3000);

app.use(morgan("tiny"));

// written by the prestart hook: answering without it means `npm start` was bypassed
function buildInfo() {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "build-info.json"), "utf8"));
  } catch {
    return { hook: "missing" };
  }
}

app.get("/", (req, res) => {
  const info = buildInfo();
  res.type("text/plain").send(`${info.name} ${info.version} env=${process.env.NODE_ENV} hook=${info.hook}\n`);
});

app.get("/healthz", (req, res) => res.json({ ok: true }));

app.listen(port, "0.0.0.0", () => console.log(`listening on ${port}`));
