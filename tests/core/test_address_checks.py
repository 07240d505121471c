"""The checks behind the address settings: what they accept, what they refuse, and that a
refusal says what is wanted without quoting a URL that may hold a password."""

import pytest
from playball_core.address_checks import (
    WANTED_DATABASE_URL,
    check_bootstrap,
    check_database_url,
    check_http_url,
    database_url_problem,
)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:p@127.0.0.1:15432/playball",
        "postgresql://127.0.0.1/x",
        "postgresql+psycopg://u:p%40ss@[::1]:5432/db?sslmode=require",
        "sqlite:///relative.db",
        "sqlite:////tmp/absolute.db",
    ],
)
def test_database_urls_of_postgresql_and_sqlite_pass(url: str) -> None:
    assert database_url_problem(url) is None
    assert check_database_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:s3cret@[::1",
        "postgresql://u:s3cret@db:port/x",
        "postgresql://u:s3cret@db:70000/x",
        "mysql://u:s3cret@db/x",
        "postgres://u:s3cret@db/x",  # libpq's alias; SQLAlchemy has no such dialect
        "db/x",
        "",
    ],
)
def test_other_database_urls_are_refused_without_being_quoted(url: str) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL or SQLite URL") as refused:
        check_database_url(url)
    assert str(refused.value) == WANTED_DATABASE_URL
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    "servers",
    ["127.0.0.1:19092", "a:1,b:2, c:3", "SASL_SSL://broker:9093", "[::1]:19092", "broker"],
)
def test_bootstrap_lists_of_host_and_port_pass(servers: str) -> None:
    assert check_bootstrap(servers) == servers


@pytest.mark.parametrize(
    ("servers", "item"),
    [
        ("127.0.0.1:notaport", "127.0.0.1:notaport"),
        ("a:1,,b:2", ""),
        ("", ""),
        ("h:99999", "h:99999"),
        ("[::1:19092", "[::1:19092"),
        ("host:1/path", "host:1/path"),
    ],
)
def test_a_bad_bootstrap_item_is_named(servers: str, item: str) -> None:
    with pytest.raises(ValueError, match=r"is not host:port") as refused:
        check_bootstrap(servers)
    assert str(refused.value).startswith(f"{item!r} is not host:port")


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:18180", "http://localhost", "https://[::1]:443/base/"]
)
def test_http_base_urls_pass(url: str) -> None:
    assert check_http_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://[::1", "not an http\\(s\\) URL"),
        ("ftp://host", "not an http\\(s\\) URL"),
        ("https://", "not an http\\(s\\) URL"),
        ("host:18180", "not an http\\(s\\) URL"),
        ("https://host:port", "not an http\\(s\\) URL"),
        ("https://user:s3cret@host", "holds credentials"),
    ],
)
def test_other_base_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        check_http_url(url)
    assert "s3cret" not in str(refused.value)
