"""``playball auth``: migrate, serve, the signing keys and the outbox commands.

Heavy modules (SQLAlchemy, FastAPI, uvicorn) are imported inside the commands so that
``playball --help`` stays fast. Exit codes: 0 ok, 2 bad input or configuration, 3 the
database is unreachable.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from playball_core.exits import ExitCode
from playball_service_kit.cli import command_group, fail, settings_or_exit

from playball_auth.entrypoints import privacy_cli, relay_cli

if TYPE_CHECKING:
    from playball_service_kit.database_commands_sql import ServiceDatabase

    from playball_auth.settings import AuthSettings

app = command_group("The auth service: user accounts, tokens, and the user events' outbox.")
outbox_app = command_group("The transactional outbox of user events.")
app.add_typer(outbox_app, name="outbox")
keys_app = command_group("The keys signing access tokens (PLAYBALL_AUTH_SIGNING_KEYS).")
app.add_typer(keys_app, name="keys")

KEYS_VARIABLE = "PLAYBALL_AUTH_SIGNING_KEYS"


def _settings() -> "AuthSettings":
    from playball_auth.settings import AuthSettings  # noqa: PLC0415

    return settings_or_exit(AuthSettings)


def _database(settings: "AuthSettings") -> "ServiceDatabase":
    from playball_service_kit.database_commands_sql import ServiceDatabase  # noqa: PLC0415

    from playball_auth.adapters import database_sql  # noqa: PLC0415

    return ServiceDatabase(
        service="auth",
        url=settings.effective_database_url,
        variable="PLAYBALL_AUTH_DATABASE_URL",
        make_engine=database_sql.make_engine,
        upgrade=database_sql.migrate,
        is_migrated=database_sql.is_migrated,
    )


@app.command()
def migrate() -> None:
    """Create the auth database if it is missing, then upgrade it to the latest schema."""
    from playball_service_kit.database_commands_sql import migrate as migrate_database  # noqa: PLC0415

    migrate_database(_database(_settings()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="port (default: PLAYBALL_AUTH_PORT, 18180)"),
    ] = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="serve https with this PEM certificate (chain); needs --ssl-keyfile",
        ),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="the certificate's PEM private key"),
    ] = None,
) -> None:
    """Serve the HTTP API (uvicorn) until interrupted; https given a certificate and key.

    /healthz echoes PLAYBALL_INSTANCE_NONCE as "instance", when the process was given one.
    """
    import uvicorn  # noqa: PLC0415
    from playball_core.instance import instance_nonce  # noqa: PLC0415
    from playball_events.gc_tuning import tune_for_service  # noqa: PLC0415
    from playball_service_kit.database_commands_sql import require_migrated  # noqa: PLC0415

    from playball_auth.adapters.signing_keys import SigningKeyError  # noqa: PLC0415
    from playball_auth.bootstrap import wire  # noqa: PLC0415
    from playball_auth.entrypoints.api import create_app  # noqa: PLC0415

    if (ssl_certfile is None) != (ssl_keyfile is None):
        fail("--ssl-certfile and --ssl-keyfile go together", ExitCode.BAD_INPUT)
    tls = ssl_certfile is not None
    if ssl_certfile is not None and ssl_keyfile is not None:
        import ssl  # noqa: PLC0415

        try:  # here, as exit 2, rather than as uvicorn's traceback after the wiring
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(ssl_certfile, ssl_keyfile)
        except (ssl.SSLError, OSError) as exc:
            fail(f"--ssl-certfile/--ssl-keyfile: unusable: {exc}", ExitCode.BAD_INPUT)
    settings = _settings()
    port = port or settings.auth_port
    require_migrated(_database(settings))
    _key_directory(settings)  # the directory's errors and notice, before the wiring's
    try:
        wired = wire(settings, issuer=settings.issuer_for(host, port, tls=tls))
    except SigningKeyError as exc:
        fail(f"{KEYS_VARIABLE}: {exc}", ExitCode.BAD_INPUT)
    try:
        api = create_app(
            wired.ports,
            max_body=settings.auth_max_body,
            instance=instance_nonce(),
            account_threads=settings.auth_account_threads,
        )
        tune_for_service()
        uvicorn.run(
            api,
            host=host,
            port=port,
            log_level="info",
            ssl_certfile=None if ssl_certfile is None else str(ssl_certfile),
            ssl_keyfile=None if ssl_keyfile is None else str(ssl_keyfile),
        )
    finally:
        wired.dispose()


def _key_directory(settings: "AuthSettings") -> "Path":
    """The signing keys' directory, the development one created if needed; exit 2 if
    it is missing, empty or open to others."""
    import os  # noqa: PLC0415

    from playball_auth.adapters.signing_keys import SigningKeyError  # noqa: PLC0415
    from playball_auth.bootstrap import signing_keys_directory  # noqa: PLC0415
    from playball_auth.settings import default_signing_keys_path  # noqa: PLC0415

    if "PLAYBALL_AUTH_SIGNING_KEY" in os.environ:
        # the old single-file setting: ignoring it would silently sign with another key
        fail(
            f"PLAYBALL_AUTH_SIGNING_KEY is replaced by {KEYS_VARIABLE}, a directory of "
            "keys (see services/auth/README.md)",
            ExitCode.BAD_INPUT,
        )
    new_dev_keys = settings.auth_signing_keys is None and not default_signing_keys_path().exists()
    try:
        directory = signing_keys_directory(settings)
    except SigningKeyError as exc:
        fail(f"{KEYS_VARIABLE}: {exc}", ExitCode.BAD_INPUT)
    if new_dev_keys:
        typer.echo(f"generated a development signing key in {directory}", err=True)
    return directory


@keys_app.command()
def rotate(
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="sign with the new key at once, before verifiers may have fetched it "
            "(tests; a verifier refetches on an unknown kid, at most every few seconds)",
        ),
    ] = False,
) -> None:
    """Add a signing key as the next one.

    It is published in the JWKS at once and signs after PLAYBALL_AUTH_KEY_PUBLISH_DELAY
    seconds, when every verifier has fetched it. The key it replaces stays published
    until the tokens it signed have expired (+30 s); the files of keys that stopped
    signing over a day ago are deleted. Running servers pick the change up by themselves.
    """
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from playball_auth.adapters import signing_keys  # noqa: PLC0415
    from playball_auth.adapters.key_rotation import GRACE  # noqa: PLC0415
    from playball_auth.settings import MAX_TOKEN_TTL  # noqa: PLC0415

    settings = _settings()
    directory = _key_directory(settings)
    started = datetime.now(UTC)
    delay = timedelta(seconds=0 if now else settings.auth_key_publish_delay)
    try:
        rotated = signing_keys.rotate(
            directory,
            now=started,
            signs_from=started + delay,
            # the longest lifetime any server's settings allow, not this process's own
            # TTL: a server with a longer one may still be publishing the key
            keep_retired=timedelta(seconds=MAX_TOKEN_TTL) + GRACE,
        )
    except (signing_keys.SigningKeyError, OSError) as exc:
        fail(f"{KEYS_VARIABLE}: {exc}", ExitCode.BAD_INPUT)
    typer.echo(
        f"added signing key {rotated.kid} to {directory}: published now, signing from "
        f"{rotated.signs_from.isoformat(timespec='seconds')}"
    )
    for kid in rotated.removed:
        typer.echo(f"deleted retired signing key {kid}")


@outbox_app.command()
def backfill() -> None:
    """Enqueue a UserRegistered event for every existing user, at its current version.

    For a new consumer or a rebuilt view: UserRegistered carries the user's full public
    state, so a consumer can apply it to a user it has never seen; one that already has
    that version ignores it.
    """
    from playball_service_kit.database_sql import (  # noqa: PLC0415
        DatabaseUnreachableError,
        check_reachable,
    )

    from playball_auth.adapters.database_sql import make_engine, session_factory  # noqa: PLC0415
    from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork  # noqa: PLC0415
    from playball_auth.service_layer.handlers import backfill_outbox  # noqa: PLC0415

    settings = _settings()
    engine = make_engine(settings.effective_database_url)
    try:
        check_reachable(engine)
        sessions = session_factory(engine)
        count = backfill_outbox(lambda: SqlUnitOfWork(sessions))
    except DatabaseUnreachableError as exc:
        fail(str(exc), ExitCode.UNREACHABLE)
    finally:
        engine.dispose()
    typer.echo(f"enqueued {count} UserRegistered event(s)")


relay_cli.register(app, outbox_app)
privacy_cli.register(app)
