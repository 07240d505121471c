"""The groups engines (API and consumer) give up on a database that never answers."""

import pytest
from playball_groups.adapters.database import make_engine
from support.network import assert_connect_times_out


@pytest.mark.slow
def test_a_database_that_never_answers_fails_the_connect_after_its_timeout() -> None:
    # as the consumer builds it (no ping): the bound must not depend on the ping
    assert_connect_times_out(lambda url: make_engine(url, pool_pre_ping=False))
