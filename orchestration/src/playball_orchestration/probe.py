"""Is a service answering, is it the process we started, and what does its metrics say."""

import functools
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    """What a ``/healthz`` gave: nothing (``listening`` False), or an answer to judge."""

    listening: bool  # something holds the port: it answered, or failed our TLS check
    status_code: int | None = None
    healthy: bool = False  # 200 with {"status": "ok"}
    instance: str | None = None  # the nonce it answered with
    detail: str = ""  # why it is not ours, for a message: a TLS error, a status

    def is_instance(self, nonce: str | None) -> bool:
        """Healthy, and the start that was handed ``nonce``: never true without one."""
        return nonce is not None and self.healthy and self.instance == nonce


def health(url: str, ca: str | None = None) -> HealthAnswer:
    """Ask ``url`` for its health; an https URL must hold a certificate of ``ca`` (only
    that CA: the stack's, whose keys no other local process has) for its host."""
    try:
        verify = trust(ca)
    except (OSError, ssl.SSLError) as exc:  # no `stack up` yet, or a damaged file
        return HealthAnswer(listening=False, detail=f"cannot load the CA {ca}: {exc}")
    try:
        response = httpx.get(url, timeout=PROBE_TIMEOUT, verify=verify)
    except httpx.HTTPError as exc:
        failure = _tls_failure(exc)
        if failure is not None:
            return HealthAnswer(listening=True, detail=f"its TLS certificate failed: {failure}")
        return HealthAnswer(listening=False, detail=str(exc))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return HealthAnswer(True, response.status_code, detail="it answered no health document")
    instance = body.get("instance")
    return HealthAnswer(
        listening=True,
        status_code=response.status_code,
        healthy=response.status_code == 200 and body.get("status") == "ok",
        instance=instance if isinstance(instance, str) else None,
        detail=f"it answered {response.status_code}",
    )


def trust(ca: str | None) -> ssl.SSLContext:
    """What a probe trusts: the default CAs, or only ``ca``'s file. One context per file
    version, kept: building one loads a CA bundle (~25 ms of CPU, measured), and `up`,
    `status` and the supervisor probe several times a second."""
    if ca is None:
        return _context(None, 0)
    return _context(ca, Path(ca).stat().st_mtime_ns)  # a CA made again is loaded again


@functools.lru_cache(maxsize=8)
def _context(ca: str | None, _version: int) -> ssl.SSLContext:
    if ca is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=ca)


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error under an httpx error: a peer listened but failed our check (as
    opposed to a refused connection, where nothing listens)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def answers(url: str, ca: str | None = None) -> bool:
    """True when ``url`` answers 200 (a health endpoint or a metrics page)."""
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT, verify=trust(ca)).status_code == 200
    except (httpx.HTTPError, OSError, ssl.SSLError):
        return False


def gauge(metrics_url: str, name: str) -> float | None:
    """The value of an unlabelled (or summed over labels) metric, None when unavailable."""
    try:
        response = httpx.get(metrics_url, timeout=PROBE_TIMEOUT, verify=trust(None))
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return metric_value(response.text, name)


def metric_value(text: str, name: str) -> float | None:
    """The sum of every sample named ``name`` in a Prometheus text page."""
    total: float | None = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total = (total or 0.0) + sample.value
    return total
