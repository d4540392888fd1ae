// prestart hook: records what is being started, as many apps do for /version endpoints
const fs = require("fs");
const path = require("path");
const pkg = require("../package.json");

const info = { name: pkg.name, version: pkg.version, hook: "prestart" };
fs.writeFileSync(path.join(__dirname, "..", "build-info.json"), JSON.stringify(info) + "\n");
console.log("build-info.json written");
