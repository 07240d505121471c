"""Fetching auth's JWKS document: the transport half of the JWKS client.

Every way a fetch can fail (refused, timed out, TLS, an error status, a redirect, a
body too large or too slow) is one :class:`KeySetError`, so the cache above has one
thing to catch and nothing a peer sends can surface as a 500.
"""

import http.client
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

from playball_groups.adapters.jwks_keys import KeySetError

# Auth's JWKS is a few KB (two or three RSA keys); anything near this is not a JWKS, and
# reading it whole would let whatever answers on the port make us buffer without bound.
MAX_JWKS_BYTES = 1 << 20
_CHUNK = 65_536
_SCHEMES = {"http", "https"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A JWKS is served where it is configured: a redirect is an error answer (urllib
    then raises HTTPError), not an invitation to take keys from elsewhere."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def fetch_jwks(url: str, *, timeout: float, ssl_context: ssl.SSLContext | None = None) -> bytes:
    """The body of ``url``; raises :class:`KeySetError`. ``timeout`` bounds the connect,
    each read, and (checked between reads) the whole body."""
    if urllib.parse.urlsplit(url).scheme not in _SCHEMES:
        # urllib would also open file:, ftp: and data: URLs
        raise KeySetError(f"the JWKS URL must be http or https: {url}")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if ssl_context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json", "User-Agent": "playball-groups"}
    )
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            return _read_bounded(response, url, deadline)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise KeySetError(f"{url} answered HTTP {exc.code}") from None
    # OSError: refused, reset, timed out, TLS; HTTPException: a peer that does not speak
    # HTTP; ValueError: a URL urllib cannot parse
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise KeySetError(f"cannot fetch {url}: {exc!r}") from exc


def _read_bounded(response: IO[bytes], url: str, deadline: float) -> bytes:
    body = bytearray()
    while chunk := response.read(_CHUNK):
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise KeySetError(f"{url} answered more than {MAX_JWKS_BYTES} bytes")
        # a peer trickling a byte per read would otherwise hold the fetch for ever
        if time.monotonic() > deadline:
            raise KeySetError(f"{url} did not finish its answer in time")
    return bytes(body)
