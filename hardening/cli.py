"""`hardening`: the analysts' and scripts' entry point. Each capability owns its sub-commands."""

from __future__ import annotations

import typer

from hardening.clikit import DomainErrorGroup
from hardening.db.cli import app as db_app

app = typer.Typer(
    help="Cuckooing risk, SAFE markers, security works and camera planning on PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=DomainErrorGroup,
)
app.add_typer(db_app, name="db")


def _register_capabilities() -> None:
    """Sub-apps live with their capability; imported here so `hardening --help` lists them."""
    from hardening.addresses.cli import register as register_match
    from hardening.api.cli import register as register_api
    from hardening.areas_cli import app as area_app
    from hardening.budget import cli as _budget_cli  # noqa: F401  (adds `plan budget`)
    from hardening.coverage.cli import coverage_app, plan_app
    from hardening.features.cli import register as register_export
    from hardening.importers.cli import app as import_app
    from hardening.jobs.cli import jobs_app
    from hardening.jobs.cli import register as register_worker
    from hardening.markers.cli import app as markers_app
    from hardening.qgisproject.cli import register as register_qgis
    from hardening.reports.cli import report_app, training_app
    from hardening.risk.cli import app as risk_app
    from hardening.sample.cli import app as sample_app
    from hardening.security.cli import audit_app, review_app, users_app
    from hardening.visits.cli import lines_app, visits_app
    from hardening.works.cli import app as works_app

    app.add_typer(sample_app, name="sample")
    app.add_typer(import_app, name="import")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(review_app, name="review")
    app.add_typer(risk_app, name="risk")
    app.add_typer(coverage_app, name="coverage")
    app.add_typer(plan_app, name="plan")
    app.add_typer(works_app, name="works")
    app.add_typer(markers_app, name="markers")
    app.add_typer(visits_app, name="visits")
    app.add_typer(lines_app, name="lines")
    app.add_typer(report_app, name="report")
    app.add_typer(training_app, name="training")
    app.add_typer(area_app, name="area")
    app.add_typer(jobs_app, name="jobs")
    register_match(app)
    register_api(app)
    register_export(app)
    register_worker(app)
    register_qgis(app)


_register_capabilities()


def main() -> None:
    app()
