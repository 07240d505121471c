"""The auth API's engine gives up on a database that never answers instead of hanging."""

import pytest
from playball_auth.adapters.database_sql import make_engine
from support.network import assert_connect_times_out


@pytest.mark.slow
def test_a_database_that_never_answers_fails_the_connect_after_its_timeout() -> None:
    assert_connect_times_out(make_engine)
