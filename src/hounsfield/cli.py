"""The `hounsfield` command: serve, migrate, user, demo, audit."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hounsfield.config import Settings

# No rich tracebacks: they print local variables, which can hold patient data or secrets.
app = typer.Typer(
    help="Hounsfield medical imaging platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)
app.add_typer(user_app, name="user")
patients_app = typer.Typer(help="Manage patient records.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(patients_app, name="patients")
report_app = typer.Typer(help="Check diagnostic reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")
backup_app = typer.Typer(
    help="Back up the instance (database, objects, keys); `verify` and `prune` a target.",
    invoke_without_command=True,
)
app.add_typer(backup_app, name="backup")


def _settings_or_exit() -> Settings:
    from pydantic import ValidationError

    from hounsfield.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]) for e in exc.errors())
        typer.echo(f"error: invalid configuration: {messages}", err=True)
        raise typer.Exit(2) from exc


def share_metrics(settings: Settings) -> None:
    """Sum /metrics over this command's processes (monitoring/multiproc.py)."""
    from hounsfield.monitoring.multiproc import share_across_processes

    share_across_processes(settings)


def api_processes(requested: int) -> int:
    """How many API processes `serve` starts: as asked, else one per core (at most 4)."""
    return requested or max(1, min(os.cpu_count() or 1, 4))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="API processes; default HOUNSFIELD_API_WORKERS.")
    ] = None,
) -> None:
    """Serve the API (and, in embedded mode, everything else) over HTTP.

    Several processes share one listening socket; in embedded mode each also runs a DICOM
    listener on the shared DICOM port and a background task pool, and one of them the
    periodic maintenance (see `hounsfield.processes`).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from hounsfield.config import get_settings
    from hounsfield.logging import configure
    from hounsfield.monitoring.server import uvicorn_options

    settings = _settings_or_exit()
    share_metrics(settings)
    count = api_processes(settings.api_workers if workers is None else workers)
    os.environ["HOUNSFIELD_API_WORKERS"] = str(count)  # the spawned workers read it
    get_settings.cache_clear()
    configure(settings.log_level, settings.log_json)
    config = uvicorn.Config(
        "hounsfield.cli:worker_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=count,
        log_config=None,
        proxy_headers=False,
        **uvicorn_options(settings),  # slow-client deadlines, connection cap, no Server header
    )
    if count == 1:
        server = uvicorn.Server(config)
        server.run()
        started = server.started
    else:
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()  # uvicorn.run would exit 0 when a worker cannot start: say so
        started = all(p.exitcode != STARTUP_FAILURE for p in supervisor.processes)
    if not started:
        raise typer.Exit(STARTUP_FAILURE)


def worker_app() -> FastAPI:
    """The app as each `serve` process builds it: its own logging set up first."""
    from hounsfield.app import create_app
    from hounsfield.config import get_settings
    from hounsfield.logging import configure

    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    return create_app()


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues.")] = "default",
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
) -> None:
    """Run a Celery worker on the Redis broker (production); embedded mode needs none."""
    settings = _settings_or_exit()
    share_metrics(settings)  # before the tasks' modules import prometheus_client
    from hounsfield.logging import configure
    from hounsfield.worker import celery, requeue_pending

    if not settings.redis_url:
        typer.echo("error: set HOUNSFIELD_REDIS_URL: embedded mode runs tasks in-process", err=True)
        raise typer.Exit(2)
    configure(settings.log_level, settings.log_json)
    requeue_pending(everything=True)
    celery.worker_main(
        ["worker", f"--queues={queues}", f"--concurrency={concurrency}", "--loglevel=INFO"]
    )


@app.command()
def dicom(
    processes: Annotated[
        int | None, typer.Option(help="Listener processes sharing the port (SO_REUSEPORT).")
    ] = None,
) -> None:
    """Run the DICOM (DIMSE) listener on its own (production); SIGTERM stops it gracefully."""
    settings = _settings_or_exit()
    share_metrics(settings)  # before the listener's modules import prometheus_client
    from hounsfield.dimse import scp
    from hounsfield.logging import configure

    configure(settings.log_level, settings.log_json)
    scp.serve(processes)


@app.command()
def hl7() -> None:
    """Run the HL7 v2 (MLLP) listener for the hospital information system on its own."""
    from hounsfield.hl7 import listener
    from hounsfield.logging import configure

    settings = _settings_or_exit()
    configure(settings.log_level, settings.log_json)
    listener.serve()


@app.command()
def beat() -> None:
    """Run Celery beat: periodic maintenance (orphan sweep, purges) for the workers."""
    from hounsfield import schedule  # sets the beat schedule on the Celery app
    from hounsfield.logging import configure

    settings = _settings_or_exit()
    if not settings.redis_url:
        typer.echo("error: set HOUNSFIELD_REDIS_URL: embedded mode schedules in-process", err=True)
        raise typer.Exit(2)
    configure(settings.log_level, settings.log_json)
    schedule_file = settings.data_dir / "celerybeat-schedule"
    schedule.celery.start(["beat", "--loglevel=INFO", f"--schedule={schedule_file}"])


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from hounsfield.migrate import upgrade

    settings = _settings_or_exit()
    upgrade()
    typer.echo(f"database migrated ({settings.sqlalchemy_url.split('://')[0]})")
    _install_ai_defaults()


def _install_ai_defaults() -> None:
    """Register the built-in AI models (from installed packages, never downloaded)."""
    from hounsfield.ai.service import install_defaults
    from hounsfield.db import transaction

    with transaction(write=True) as session:
        added = install_defaults(session)
    if added:
        typer.echo(f"AI models registered: {', '.join(added)}")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[list[str], typer.Option(help="Role (repeat for several).")],
    password: Annotated[
        str | None,
        typer.Option(help="Password; read from HOUNSFIELD_NEW_PASSWORD or a prompt if omitted."),
    ] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
) -> None:
    """Create a user account."""
    from hounsfield.db import transaction
    from hounsfield.errors import HounsfieldError
    from hounsfield.users import service
    from hounsfield.users.schemas import UserCreate

    settings = _settings_or_exit()
    secret = password or os.environ.get("HOUNSFIELD_NEW_PASSWORD")
    if not secret:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction(write=True) as session:
            data = UserCreate(
                username=username, password=secret, display_name=display_name, roles=role
            )
            user = service.create_user(session, settings, None, data)
            typer.echo(f"created user {user.username} with roles {', '.join(user.role_names)}")
    except HounsfieldError as exc:
        typer.echo(f"error: {exc} {exc.details or ''}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def demo() -> None:
    """Create one demo account per role (embedded mode only) and print their passwords once."""
    from hounsfield.db import transaction
    from hounsfield.users import service

    settings = _settings_or_exit()
    if settings.mode == "production":
        typer.echo("error: demo accounts are refused in production mode", err=True)
        raise typer.Exit(2)
    credentials = settings.data_dir / "demo-credentials.txt"
    with transaction(write=True) as session:
        created = service.create_demo_accounts(session, settings)
    if not created:
        typer.echo(f"demo accounts exist; their passwords are in {credentials}")
        return
    lines = [f"{name}  {password}" for name, password in created.items()]
    credentials.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# DEMO accounts - for trying Hounsfield, never for patients\n")
        handle.write("\n".join(lines) + "\n")
    banner = "=" * 64
    typer.echo(f"{banner}\n DEMO ACCOUNTS (embedded mode only; kept in {credentials})")
    for line in lines:
        typer.echo(f"   {line}")
    typer.echo(banner)


@app.command("demo-studies")
def demo_studies() -> None:
    """Store a few demo studies (pydicom's bundled samples and generated CT/DX); idempotent."""
    from hounsfield.studies.demo import seed_demo_studies

    settings = _settings_or_exit()
    if settings.mode == "production":
        typer.echo("error: demo studies are refused in production mode", err=True)
        raise typer.Exit(2)
    counts = seed_demo_studies()
    typer.echo(
        f"demo studies: {counts['stored']} instances stored, "
        f"{counts['duplicate']} already present, {counts['refused']} refused"
    )


@app.command("db-grants")
def db_grants(
    app_user: Annotated[str, typer.Option(help="The application's database account.")],
) -> None:
    """Print the GRANTs for the application account (audit trail append-only); run as owner."""
    from sqlalchemy.engine import make_url

    from hounsfield.grants import grant_statements

    url = make_url(_settings_or_exit().sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        typer.echo(
            "error: SQLite has no accounts; grants apply to MySQL/MariaDB/PostgreSQL", err=True
        )
        raise typer.Exit(2)
    for statement in grant_statements(url.get_backend_name(), app_user, url.database or ""):
        typer.echo(statement + ";")


@audit_app.command("verify")
def audit_verify() -> None:
    """Seal pending audit events, then check the whole hash chain. Exit 1 if it is broken."""
    from hounsfield.audit import service
    from hounsfield.db import transaction

    _settings_or_exit()
    service.seal_all()
    with transaction() as session:
        result = service.verify(session)
    if result.ok:
        typer.echo(f"audit chain intact: {result.checked} events verified")
        return
    typer.echo(
        f"AUDIT CHAIN BROKEN at event #{result.broken_seq}: {result.reason} "
        f"({result.checked} events verified before it)",
        err=True,
    )
    raise typer.Exit(1)


@report_app.command("verify")
def report_verify(
    report_id: Annotated[str, typer.Argument(help="The report's id (UUID).")],
) -> None:
    """Check a report's signature against its content as the database holds it. Exit 1 if
    it is unsigned, or changed since it was signed."""
    import uuid

    from hounsfield.db import transaction
    from hounsfield.reports import service
    from hounsfield.reports.models import Report

    _settings_or_exit()
    with transaction() as session:
        report = session.get(Report, uuid.UUID(report_id))
        if report is None:
            typer.echo(f"no report {report_id}", err=True)
            raise typer.Exit(1)
        result = service.verify(session, report)
    if result["valid"]:
        typer.echo(f"signature valid: version {result['version']}, key {result['key_id']}")
        return
    typer.echo(f"SIGNATURE NOT VALID: {result['reason']}", err=True)
    raise typer.Exit(1)


@patients_app.command("rotate-key")
def patients_rotate_key(
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key/--no-new-key",
            help="Embedded mode: generate a new key first (it becomes current).",
        ),
    ] = True,
) -> None:
    """Re-encrypt every national ID and phone with the current key (docs/patients.md).

    Embedded mode generates the new key under <data_dir>/secrets/patient-keys/. With keys in
    HOUNSFIELD_PATIENTS__ENCRYPTION_KEYS, put the new key first there, restart, then run this;
    remove the old key only after it reports 0 records left.
    """
    from hounsfield.audit import service as audit
    from hounsfield.db import transaction
    from hounsfield.patients import crypto
    from hounsfield.patients.service import reencrypt_batch

    settings = _settings_or_exit()
    directory = crypto.generated_key_dir(settings)
    if new_key and directory is not None:
        crypto.add_generated_key(directory)
    current = crypto.keyring(settings).current
    total = 0
    while True:
        with transaction(write=True) as session:
            done = reencrypt_batch(session)
            if done:
                audit.record(
                    session, "patient.rotate_key", None, resource_type="patient",
                    detail={"key_id": current, "records": done},
                )  # fmt: skip
        total += done
        if not done:
            break
    typer.echo(f"{total} patient records re-encrypted with key {current}; 0 records left")


BackupDir = Annotated[
    str, typer.Argument(help="The backup target: a directory or s3://bucket/prefix.")
]
SnapshotName = Annotated[
    str | None, typer.Option("--snapshot", help="A snapshot's name; default: the newest.")
]


def _target_errors() -> tuple[type[Exception], ...]:
    """What an unreachable or refused S3 target, or a malformed URL, raises."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, ValueError)


@backup_app.callback()
def backup_create(
    ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="The backup target: a directory or s3://bucket/prefix."
        ),
    ] = None,
) -> None:
    """Snapshot the database (consistent dump), every stored object (incremental: one the
    target already holds is not copied again) and the generated keys into --output.
    Exit 1 if an object is missing or corrupt (the snapshot is then marked incomplete)."""
    if ctx.invoked_subcommand is not None:
        return
    if output is None:
        typer.echo("error: --output DIR is required (or a command: verify, prune)", err=True)
        raise typer.Exit(2)
    from hounsfield.backup import service
    from hounsfield.backup.database import DumpFailed
    from hounsfield.monitoring.collectors import backup_finished

    settings = _settings_or_exit()
    failures: tuple[type[Exception], ...] = (DumpFailed, *_target_errors())
    try:
        result = service.backup(settings, output)
    except failures as exc:
        backup_finished(ok=False)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    backup_finished(ok=not result.problems)
    typer.echo(
        f"snapshot {result.name}: {result.objects} objects, {result.copied} copied "
        f"({result.copied_bytes} bytes), {result.objects - result.copied} already in the target"
    )
    for problem in result.problems:
        typer.echo(f"PROBLEM: {problem}", err=True)
    if result.problems:
        raise typer.Exit(1)


@backup_app.command("verify")
def backup_verify(target: BackupDir, snapshot: SnapshotName = None) -> None:
    """Re-hash every file of a snapshot (dump, object list, objects, keys) without
    restoring it. Exit 1 on any difference."""
    from hounsfield.backup import service
    from hounsfield.backup.crypto import KeyMissing

    settings = _settings_or_exit()
    failures: tuple[type[Exception], ...] = (FileNotFoundError, KeyMissing, *_target_errors())
    try:
        result = service.verify(settings, target, snapshot)
    except failures as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for problem in result.problems:
        typer.echo(f"PROBLEM: {problem}", err=True)
    if not result.ok:
        typer.echo(f"snapshot {result.name} does NOT verify: {len(result.problems)} problems",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    typer.echo(f"snapshot {result.name} verified: {result.objects} objects intact")


@backup_app.command("prune")
def backup_prune(
    target: BackupDir,
    keep: Annotated[int, typer.Option(min=1, help="Snapshots to keep (the newest).")] = 7,
) -> None:
    """Remove all but the newest snapshots, and the objects none of the kept ones lists."""
    from hounsfield.backup import service

    try:
        removed, objects = service.prune(target, keep, _settings_or_exit())
    except _target_errors() as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{len(removed)} snapshots and {objects} objects removed")


@app.command()
def restore(target: BackupDir, snapshot: SnapshotName = None) -> None:
    """Rebuild an instance from a snapshot into the configured (empty) database, storage and
    data directory: verified first, then migrated to this version. Exit 1 if refused."""
    from hounsfield.backup import service
    from hounsfield.backup.database import DumpFailed

    settings = _settings_or_exit()
    failures: tuple[type[Exception], ...] = (
        service.RestoreRefused, FileNotFoundError, DumpFailed, *_target_errors()
    )  # fmt: skip
    try:
        result = service.restore(settings, target, snapshot)
    except failures as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"restored snapshot {result.name}: {result.objects} objects")


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":
    main()
