"""The port that turns a bearer token into the caller's user id."""

import uuid
from abc import ABC, abstractmethod


class InvalidTokenError(Exception):
    """Missing, forged, expired, or meant for someone else: the API answers 401."""


class TokenKeysUnavailableError(Exception):
    """The auth service's keys cannot be fetched: the API answers 503, not 401."""


class TokenVerifier(ABC):
    @abstractmethod
    def caller(self, token: str) -> uuid.UUID:
        """The verified token's subject; raises InvalidTokenError or TokenKeysUnavailableError."""
