"""The login throttling policy: when failed logins lock an account or an address.

Per account (a normalised username, whether the account exists or not): a run of
consecutive failures, each within ``account_window_s`` of the one before, locks the
account once it reaches ``account_failures``, for ``min(LOCK_CAP_S, 2 ** (n - threshold))``
seconds after the n-th failure. During a lock, attempts are refused without being
verified or counted; a successful login ends the run. The state is forgotten
``STATE_EXPIRY_S`` after the last failure.

Per client address: ``address_failures_per_min`` failures within the last minute refuse
that address's next logins until the oldest of them is a minute old.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

LOCK_CAP_S = 900
STATE_EXPIRY_S = 24 * 3600
ADDRESS_WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    account_failures: int = 5
    account_window_s: int = 900
    address_failures_per_min: int = 20

    def lock_seconds(self, failures: int) -> int:
        """How long the ``failures``-th consecutive failure locks the account (0: not)."""
        if failures < self.account_failures:
            return 0
        return int(min(LOCK_CAP_S, 2 ** (failures - self.account_failures)))

    def continues_run(self, last_failure_at: datetime, now: datetime) -> bool:
        """Whether a failure at ``now`` extends the run whose last failure is given."""
        return now - last_failure_at <= timedelta(seconds=self.account_window_s)
