"""``playball auth``: migrate, serve, and the outbox commands.

Heavy modules (SQLAlchemy, FastAPI, uvicorn) are imported inside the commands so that
``playball --help`` stays fast. Exit codes: 0 ok, 2 bad input or configuration, 3 the
database is unreachable.
"""

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from playball_auth.entrypoints import relay_cli

if TYPE_CHECKING:
    from playball_auth.settings import AuthSettings

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3

app = typer.Typer(
    help="The auth service: user accounts, tokens, and the user events' outbox.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)
outbox_app = typer.Typer(
    help="The transactional outbox of user events.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(outbox_app, name="outbox")


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> "AuthSettings":
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    from playball_auth.settings import AuthSettings  # noqa: PLC0415

    try:
        return load_settings(AuthSettings)
    except SettingsError as exc:
        _fail(str(exc), EXIT_CONFIG)


@app.command()
def migrate() -> None:
    """Create the auth database if it is missing, then upgrade it to the latest schema."""
    from playball_auth.adapters.database_sql import (  # noqa: PLC0415
        DatabaseUnavailableError,
        create_database_if_missing,
        make_engine,
    )
    from playball_auth.adapters.database_sql import migrate as upgrade  # noqa: PLC0415

    settings = _settings()
    url = settings.effective_database_url
    try:
        created = create_database_if_missing(url)
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    except DatabaseUnavailableError as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except ValueError as exc:
        _fail(f"PLAYBALL_AUTH_DATABASE_URL: {exc}", EXIT_CONFIG)
    typer.echo(("created and " if created else "") + "migrated the auth database")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="port (default: PLAYBALL_AUTH_PORT, 18180)"),
    ] = None,
) -> None:
    """Serve the HTTP API (uvicorn) until interrupted."""
    import uvicorn  # noqa: PLC0415
    from playball_events.gc_tuning import tune_for_service  # noqa: PLC0415

    from playball_auth.adapters.database_sql import (  # noqa: PLC0415
        DatabaseUnavailableError,
        is_migrated,
        make_engine,
    )
    from playball_auth.adapters.signing_key import SigningKeyError  # noqa: PLC0415
    from playball_auth.bootstrap import wire  # noqa: PLC0415
    from playball_auth.entrypoints.api import create_app  # noqa: PLC0415
    from playball_auth.settings import default_signing_key_path  # noqa: PLC0415

    settings = _settings()
    port = port or settings.auth_port
    engine = make_engine(settings.effective_database_url)
    try:
        if not is_migrated(engine):
            _fail("the auth database is not migrated: run `playball auth migrate`", EXIT_CONFIG)
    except DatabaseUnavailableError as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    finally:
        engine.dispose()
    new_dev_key = settings.auth_signing_key is None and not default_signing_key_path().exists()
    try:
        wired = wire(settings, issuer=settings.issuer_for(host, port))
    except SigningKeyError as exc:
        _fail(f"PLAYBALL_AUTH_SIGNING_KEY: {exc}", EXIT_CONFIG)
    if new_dev_key:
        typer.echo(f"generated a development signing key: {default_signing_key_path()}", err=True)
    try:
        api = create_app(wired.ports)
        tune_for_service()
        uvicorn.run(api, host=host, port=port, log_level="info")
    finally:
        wired.dispose()


@outbox_app.command()
def backfill() -> None:
    """Enqueue a UserRegistered event for every existing user, at its current version.

    For a new consumer or a rebuilt view: UserRegistered carries the user's full public
    state, so a consumer can apply it to a user it has never seen; one that already has
    that version ignores it.
    """
    from playball_auth.adapters.database_sql import (  # noqa: PLC0415
        DatabaseUnavailableError,
        check_reachable,
        make_engine,
        session_factory,
    )
    from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork  # noqa: PLC0415
    from playball_auth.service_layer.handlers import backfill_outbox  # noqa: PLC0415

    settings = _settings()
    engine = make_engine(settings.effective_database_url)
    try:
        check_reachable(engine)
        sessions = session_factory(engine)
        count = backfill_outbox(lambda: SqlUnitOfWork(sessions))
    except DatabaseUnavailableError as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    finally:
        engine.dispose()
    typer.echo(f"enqueued {count} UserRegistered event(s)")


relay_cli.register(app, outbox_app)
