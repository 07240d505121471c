"""Is a service answering, and what does its metrics page say."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

PROBE_TIMEOUT = 2.0


def answers(url: str) -> bool:
    """True when ``url`` answers 200 (a health endpoint or a metrics page)."""
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


def gauge(metrics_url: str, name: str) -> float | None:
    """The value of an unlabelled (or summed over labels) metric, None when unavailable."""
    try:
        response = httpx.get(metrics_url, timeout=PROBE_TIMEOUT)
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
