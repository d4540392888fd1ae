"""Reads a YAML job list and prints what it would do: the shape of a queue/batch worker."""
import click
import yaml

from . import __version__


@click.command()
@click.option("--jobs", "jobs_file", default="/etc/labworker/jobs.yaml", show_default=True)
@click.option("--dry-run", is_flag=True, help="Only print the plan.")
def main(jobs_file, dry_run):
    with open(jobs_file, encoding="utf-8") as fh:
        jobs = yaml.safe_load(fh)["jobs"]
    total = sum(job.get("retries", 0) + 1 for job in jobs)
    mode = "dry-run" if dry_run else "run"
    click.echo(f"labworker {__version__} {mode}: {len(jobs)} jobs, {total} attempts max")
    for job in jobs:
        click.echo(f"- {job['name']} every {job['every']}")


if __name__ == "__main__":
    main()
