#!/usr/bin/env python3
"""Generate a synthetic monorepo of Dockerfiles for dfopt's benchmarks and scale tests.

Usage: gen-monorepo.py --files N --out DIR [--seed S] [--force]

Writes N Dockerfiles that `dfopt fix DIR` discovers (plus a few extra ones in .gitignore'd and hidden
folders that it must skip) under DIR/services/<team>/<svc>/..., DIR/libs/..., DIR/tools/... The
templates are written for this project (no corpus file is copied): node, python, go, java, debian apt,
alpine apk, multi-stage, already-clean, Windows with `# escape=`, heredoc RUNs, ONBUILD, comments
between RUNs, continuations, CRLF line endings, and inline suppressions (`# dfopt: ignore=chain-runs`,
`# hadolint ignore=DL3059`). Some folders get a `dfopt.toml` with `select`/`ignore` keys.

The output is a pure function of (N, seed): same arguments, byte-identical tree. A summary line is
printed on stdout; DIR/.gen-manifest.json (hidden, so dfopt skips it) records the counts.
"""

import argparse
import json
import os
import random
import shutil
import sys

TEAMS = ["payments", "search", "identity", "infra", "growth", "ml", "data", "mobile-api", "ops", "web"]
SVC_WORDS = ["api", "worker", "gateway", "indexer", "scheduler", "auth", "billing", "notifier",
             "ingest", "export", "cache", "proxy", "admin", "reports", "sync", "events", "router"]
NAMES = [("Dockerfile", 10), ("Dockerfile.dev", 3), ("api.Dockerfile", 2), ("Containerfile", 2),
         ("Dockerfile.prod", 1), ("worker.dockerfile", 1), ("Containerfile.arm64", 1)]

APT_PKGS = ["curl", "ca-certificates", "git", "build-essential", "libpq-dev", "gnupg", "unzip",
            "jq", "tzdata", "locales", "libssl-dev", "pkg-config", "wget", "openssh-client"]
APK_PKGS = ["curl", "bash", "git", "ca-certificates", "tzdata", "openssl", "make", "gcc",
            "musl-dev", "libffi-dev", "jq", "tini"]
PIP_PKGS = ["flask", "gunicorn", "requests", "psycopg2-binary", "celery", "uvicorn", "fastapi",
            "pydantic", "boto3", "numpy"]
NPM_GLOBAL = ["pm2", "typescript", "pnpm", "nodemon"]


def pick(r, seq, k):
    return r.sample(seq, min(k, len(seq)))


def apt_runs(r, pkgs, split):
    """apt-get as one chained RUN or as several RUNs (the latter is what chain-runs fixes)."""
    if not split:
        body = " \\\n    ".join(pkgs)
        return [f"RUN apt-get update \\\n    && apt-get install -y --no-install-recommends \\\n    {body} \\\n"
                f"    && rm -rf /var/lib/apt/lists/*"]
    runs = ["RUN apt-get update"]
    if r.random() < 0.5:
        runs.append(f"RUN apt-get install -y {' '.join(pkgs)}")
    else:
        runs += [f"RUN apt-get install -y {p}" for p in pkgs[:3]]
    if r.random() < 0.6:
        runs.append("RUN rm -rf /var/lib/apt/lists/*")
    return runs


def node(r, ctx):
    v = r.choice(["16", "18", "20", "22"])
    variant = r.choice(["", "-slim", "-alpine", "-bullseye"])
    lines = [f"FROM node:{v}{variant}", "", "WORKDIR /usr/src/app", ""]
    if variant != "-alpine" and r.random() < 0.5:
        lines += apt_runs(r, pick(r, APT_PKGS, r.randint(1, 4)), ctx["split"])
    lines += ["COPY package*.json ./", "# install dependencies",
              r.choice(["RUN npm ci --only=production", "RUN npm install", "RUN yarn install --frozen-lockfile"])]
    if r.random() < 0.5:
        lines.append(f"RUN npm install -g {r.choice(NPM_GLOBAL)}")
    lines += ["COPY . .", "RUN npm run build" if r.random() < 0.6 else "RUN npm test",
              f"EXPOSE {r.choice([3000, 8080, 8000, 4000])}",
              r.choice(['CMD ["node", "server.js"]', 'CMD ["npm", "start"]', "CMD npm start"])]
    return lines


def python(r, ctx):
    v = r.choice(["3.9", "3.10", "3.11", "3.12"])
    lines = [f"FROM python:{v}{r.choice(['', '-slim', '-slim-bookworm'])}",
             "ENV PYTHONDONTWRITEBYTECODE=1 \\", "    PYTHONUNBUFFERED=1", "WORKDIR /app"]
    lines += apt_runs(r, pick(r, APT_PKGS, r.randint(1, 5)), ctx["split"])
    lines += ["COPY requirements.txt .",
              "RUN pip install --upgrade pip",
              r.choice(["RUN pip install -r requirements.txt",
                        "RUN pip install --no-cache-dir -r requirements.txt"])]
    if r.random() < 0.4:
        lines.append(f"RUN pip install {' '.join(pick(r, PIP_PKGS, 2))}")
    lines += ["COPY . /app", "RUN python -m compileall -q /app" if r.random() < 0.3 else "RUN chmod +x /app/entrypoint.sh",
              "USER 1000",
              r.choice(['CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]', 'ENTRYPOINT ["python", "main.py"]'])]
    return lines


def go(r, ctx):
    v = r.choice(["1.20", "1.21", "1.22"])
    final = r.choice(["gcr.io/distroless/static-debian12", "alpine:3.19", "scratch", "debian:bookworm-slim"])
    lines = [f"FROM golang:{v} AS build", "WORKDIR /src", "COPY go.mod go.sum ./",
             "RUN go mod download", "COPY . .",
             "RUN CGO_ENABLED=0 GOOS=linux go build -o /out/app ./cmd/server",
             "RUN go test ./..." if r.random() < 0.3 else "RUN go vet ./...", "",
             f"FROM {final}"]
    if final.startswith("alpine"):
        lines += ["RUN apk add --no-cache ca-certificates", "RUN adduser -D app"]
    lines += ["COPY --from=build /out/app /app", "USER 65532:65532" if "distroless" in final else "USER 1000",
              'ENTRYPOINT ["/app"]']
    return lines


def java(r, ctx):
    jdk = r.choice(["17", "21", "11"])
    lines = [f"FROM maven:3.9-eclipse-temurin-{jdk} AS builder", "WORKDIR /build", "COPY pom.xml .",
             "RUN mvn -B dependency:go-offline", "COPY src ./src", "RUN mvn -B package -DskipTests", "",
             f"FROM eclipse-temurin:{jdk}-jre"]
    if r.random() < 0.5:
        lines += apt_runs(r, ["curl"], ctx["split"])
    lines += ["RUN groupadd -r app", "RUN useradd -r -g app app",
              "COPY --from=builder /build/target/*.jar /opt/app.jar", "USER app", "EXPOSE 8080",
              'ENTRYPOINT ["java", "-jar", "/opt/app.jar"]']
    return lines


def debian(r, ctx):
    base = r.choice(["debian:bookworm", "debian:bullseye-slim", "ubuntu:22.04", "ubuntu:24.04"])
    lines = [f"FROM {base}", "ARG DEBIAN_FRONTEND=noninteractive"]
    lines += apt_runs(r, pick(r, APT_PKGS, r.randint(2, 6)), True)
    lines += ["RUN mkdir -p /opt/tool",
              "RUN cd /opt/tool && wget -q https://example.invalid/tool.tar.gz",
              "RUN tar -xzf /opt/tool/tool.tar.gz -C /opt/tool",
              "RUN rm /opt/tool/tool.tar.gz",
              "ENV PATH=/opt/tool/bin:$PATH", 'CMD ["tool", "--serve"]']
    return lines


def alpine(r, ctx):
    lines = [f"FROM alpine:{r.choice(['3.18', '3.19', '3.20', 'latest'])}"]
    pk = pick(r, APK_PKGS, r.randint(2, 5))
    if ctx["split"]:
        lines += [f"RUN apk add --no-cache {p}" for p in pk]
        lines += ["RUN addgroup -S app", "RUN adduser -S app -G app"]
    else:
        lines += [f"RUN apk add --no-cache {' '.join(pk)} \\", "    && addgroup -S app && adduser -S app -G app"]
    lines += ["COPY --chown=app:app bin/ /usr/local/bin/", "USER app",
              'ENTRYPOINT ["/sbin/tini", "--"]', 'CMD ["/usr/local/bin/run"]']
    return lines


def clean(r, ctx):
    return ["# syntax=docker/dockerfile:1", f"FROM gcr.io/distroless/{r.choice(['base', 'static', 'cc'])}-debian12",
            "COPY --chown=65532:65532 app /app", "USER nonroot", 'ENTRYPOINT ["/app"]']


def windows(r, ctx):
    lines = ["# escape=`", "",
             f"FROM mcr.microsoft.com/windows/servercore:{r.choice(['ltsc2019', 'ltsc2022'])}",
             'SHELL ["powershell", "-Command", "$ErrorActionPreference = \'Stop\';"]',
             "RUN Invoke-WebRequest -Uri https://example.invalid/app.zip -OutFile app.zip",
             "RUN Expand-Archive app.zip -DestinationPath C:\\app ; `",
             "    Remove-Item app.zip -Force",
             "RUN New-Item -ItemType Directory -Path C:\\data",
             "WORKDIR C:\\app", 'CMD ["C:\\\\app\\\\app.exe"]']
    return lines


def heredoc(r, ctx):
    return ["# syntax=docker/dockerfile:1.4", "FROM ubuntu:22.04",
            "RUN <<EOF", "apt-get update", "apt-get install -y curl", "rm -rf /var/lib/apt/lists/*", "EOF",
            "RUN echo one", "RUN echo two",
            "COPY <<-EOT /etc/app.conf", "\tlisten 8080", "\tworkers 4", "\tEOT",
            'CMD ["bash"]']


def onbuild(r, ctx):
    return [f"FROM {r.choice(['node:20', 'python:3.12', 'ruby:3.3'])}", "ONBUILD COPY . /app",
            "ONBUILD RUN make deps", "ONBUILD RUN make build", "RUN useradd -m app", "RUN mkdir /app",
            "RUN chown app /app", "USER app"]


def ruby(r, ctx):
    lines = [f"FROM ruby:{r.choice(['3.1', '3.2', '3.3'])}-slim", "WORKDIR /app"]
    lines += apt_runs(r, ["build-essential", "libpq-dev", "nodejs"], ctx["split"])
    lines += ["COPY Gemfile Gemfile.lock ./", "RUN bundle config set without 'development test'",
              "RUN bundle install --jobs 4", "COPY . .", "RUN bundle exec rake assets:precompile",
              'CMD ["bundle", "exec", "puma", "-C", "config/puma.rb"]']
    return lines


TEMPLATES = [(node, 18), (python, 18), (go, 12), (java, 8), (debian, 10), (alpine, 10), (clean, 6),
             (windows, 5), (heredoc, 4), (onbuild, 3), (ruby, 6)]


def weighted(r, items):
    total = sum(w for _, w in items)
    x = r.uniform(0, total)
    for item, w in items:
        x -= w
        if x <= 0:
            return item
    return items[-1][0]


def decorate(r, lines):
    """Sprinkle comments, blank lines between RUNs, suppressions and a label or two."""
    out = []
    # parser directives (`# escape=`, `# syntax=`) must stay first: the header comment goes after them
    ndir = 0
    while ndir < len(lines) and lines[ndir].startswith(("# escape=", "# syntax=")):
        out.append(lines[ndir])
        ndir += 1
    if r.random() < 0.3:
        out.append(f"# Maintained by the {r.choice(TEAMS)} team. Do not edit without review.")
    for i, line in enumerate(lines):
        if i < ndir:
            continue
        if line.startswith("RUN ") and i > 0 and lines[i - 1].startswith("RUN ") and "<<" not in line:
            x = r.random()
            if x < 0.08:
                out.append("# dfopt: ignore=chain-runs")
            elif x < 0.14:
                out.append("# hadolint ignore=DL3059")
            elif x < 0.30:
                out.append(f"# {r.choice(['install tools', 'cleanup', 'see JIRA-' + str(r.randint(100, 9999)), 'workaround for flaky mirror'])}")
            elif x < 0.36:
                out.append("")
        out.append(line)
    if r.random() < 0.25:
        out.insert(len(out) - 1, f'LABEL org.opencontainers.image.source="https://git.example.invalid/{r.choice(TEAMS)}"')
    return out


def render(r):
    ctx = {"split": r.random() < 0.75}
    tmpl = weighted(r, TEMPLATES)
    lines = decorate(r, tmpl(r, ctx))
    text = "\n".join(lines)
    if r.random() < 0.95:
        text += "\n"
    if r.random() < 0.05:
        text = text.replace("\n", "\r\n")
    return text, tmpl.__name__


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


TOMLS = [
    'select = ["chain-runs"]\n',
    'ignore = ["chain-runs"]\n',
    '# team overrides\nselect = ["ALL"]\nignore = []\n',
    'ignore = ["chain-runs"]\n# this service keeps its RUN layers separate for caching\n',
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="remove DIR first if it exists")
    a = ap.parse_args()
    if os.path.exists(a.out):
        if not a.force and os.listdir(a.out):
            sys.exit(f"error: {a.out} exists and is not empty (use --force)")
        shutil.rmtree(a.out, ignore_errors=True)
    r = random.Random(a.seed)
    counts = {"files": 0, "ignored_files": 0, "hidden_files": 0, "dfopt_toml": 0, "gitignore": 0,
              "crlf": 0, "templates": {}}
    dirs_used = set()
    n = 0
    svc_id = 0
    while n < a.files:
        team = r.choice(TEAMS)
        kind = r.random()
        svc_id += 1
        svc = f"{r.choice(SVC_WORDS)}-{svc_id}"
        if kind < 0.8:
            base = os.path.join(a.out, "services", team, svc)
        elif kind < 0.9:
            base = os.path.join(a.out, "libs", team, svc, "docker")
        else:
            base = os.path.join(a.out, "tools", svc, "images", r.choice(["base", "ci", "runtime"]))
        # one to four Dockerfiles per service, each with its own name and sometimes in a subfolder
        names = []
        for _ in range(r.randint(1, 4)):
            name = weighted(r, NAMES)
            sub = r.choice(["", "", "", "deploy", "docker/dev"])
            rel = os.path.join(sub, name)
            if rel not in names:
                names.append(rel)
        for rel in names:
            if n >= a.files:
                break
            text, tname = render(r)
            write(os.path.join(base, rel), text)
            dirs_used.add(base)
            n += 1
            counts["files"] += 1
            counts["crlf"] += "\r\n" in text
            counts["templates"][tname] = counts["templates"].get(tname, 0) + 1
        x = r.random()
        if x < 0.05:
            # a .gitignore'd build output folder holding a copy the walk must skip
            write(os.path.join(base, ".gitignore"), "build/\n*.generated\n")
            text, _ = render(r)
            write(os.path.join(base, "build", "Dockerfile"), text)
            write(os.path.join(base, "Dockerfile.generated"), text)
            counts["gitignore"] += 1
            counts["ignored_files"] += 2
        elif x < 0.07:
            text, _ = render(r)
            write(os.path.join(base, ".github", "docker", "Dockerfile"), text)
            counts["hidden_files"] += 1
        if r.random() < 0.04:
            write(os.path.join(base, "dfopt.toml"), r.choice(TOMLS))
            counts["dfopt_toml"] += 1
        if r.random() < 0.5:
            write(os.path.join(base, "README.md"), f"# {svc}\n\nOwned by {team}.\n")
    # team-level configs (nearest one up the tree governs) and a root one
    for team in TEAMS[:4]:
        p = os.path.join(a.out, "services", team)
        if os.path.isdir(p):
            write(os.path.join(p, "dfopt.toml"), TOMLS[(len(team)) % len(TOMLS)])
            counts["dfopt_toml"] += 1
    write(os.path.join(a.out, "dfopt.toml"), '# monorepo defaults\nselect = ["chain-runs"]\n')
    counts["dfopt_toml"] += 1
    write(os.path.join(a.out, ".gitignore"), "/dist/\nnode_modules/\n")
    text, _ = render(r)
    write(os.path.join(a.out, "dist", "Dockerfile"), text)
    write(os.path.join(a.out, "services", "node_modules", "pkg", "Dockerfile"), text)
    counts["ignored_files"] += 2
    counts["gitignore"] += 1
    counts["seed"] = a.seed
    counts["templates"] = dict(sorted(counts["templates"].items()))
    with open(os.path.join(a.out, ".gen-manifest.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"gen-monorepo: {counts['files']} Dockerfiles in {len(dirs_used)} folders under {a.out} "
          f"(+{counts['ignored_files']} gitignored, +{counts['hidden_files']} hidden; "
          f"{counts['dfopt_toml']} dfopt.toml, {counts['crlf']} CRLF; seed {a.seed})")


if __name__ == "__main__":
    main()
