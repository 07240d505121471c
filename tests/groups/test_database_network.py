"""The groups engines (API and consumer) give up on a database that never answers."""

import pytest
from playball_groups.adapters.database import make_engine
from sqlalchemy.exc import OperationalError
from support.network import call_on_silent_server


@pytest.mark.slow
def test_a_database_that_never_answers_fails_the_connect_after_its_timeout() -> None:
    def connect(port: int) -> None:
        # as the consumer builds it (no ping): the bound must not depend on the ping
        engine = make_engine(f"postgresql://groups@127.0.0.1:{port}/groups", pool_pre_ping=False)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    raised = call_on_silent_server(connect)
    assert isinstance(raised, OperationalError), raised
    assert "timeout" in str(raised).lower()
