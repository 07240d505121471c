"""The auth API's engine gives up on a database that never answers instead of hanging."""

import pytest
from playball_auth.adapters.database_sql import make_engine
from sqlalchemy.exc import OperationalError
from support.network import call_on_silent_server


@pytest.mark.slow
def test_a_database_that_never_answers_fails_the_connect_after_its_timeout() -> None:
    def connect(port: int) -> None:
        engine = make_engine(f"postgresql+psycopg://auth@127.0.0.1:{port}/auth")
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    raised = call_on_silent_server(connect)
    assert isinstance(raised, OperationalError), raised
    assert "timeout" in str(raised).lower()
