"""Password hashing with argon2id (argon2-cffi).

The service's parameters are settings (``PLAYBALL_AUTH_PASSWORD_*``), by default argon2-cffi's
(RFC 9106's second recommended profile: argon2id, t=3, m=64 MiB, p=4). A stored hash made
with other parameters still verifies, and the login that proves the password rehashes it
with the current ones.
"""

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from playball_auth.service_layer.ports import PasswordHasher


class Argon2PasswordHasher(PasswordHasher):
    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self.hasher = hasher or Argon2Hasher()
        if self.hasher.type is not Type.ID:
            msg = "passwords are hashed with argon2id only"
            raise ValueError(msg)

    @classmethod
    def with_cost(
        cls, *, memory_kib: int, time_cost: int, parallelism: int
    ) -> "Argon2PasswordHasher":
        return cls(
            Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)
        )

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
