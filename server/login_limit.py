"""Rate limits on logging in: per client address and per user name, for the login page and the token API.

Password guessing is slowed two ways: one address trying many names, and many addresses (a botnet) trying
one name. An attempt spends a token of its address, then of its user name, before the password is checked,
so a refused attempt costs the server no password hash. The client address is the proxy's ``X-Forwarded-For`` only when
the proxy is trusted (``Settings.trusted_proxies``), else the connection's own address.
"""

from __future__ import annotations

from fastapi import Request, status

from server.i18n import LocalizedError
from server.ratelimit import RateLimit, TokenBuckets


class LoginLimiter:
    """Token buckets by address and by user name (case-insensitive)."""

    def __init__(self, per_address: RateLimit, per_user: RateLimit) -> None:
        self.addresses = TokenBuckets(per_address)
        self.users = TokenBuckets(per_user)

    def check(self, address: str, username: str) -> None:
        """Spend one attempt of ``address`` and of ``username``; LocalizedError 429 when either is spent."""
        # the name's bucket is only spent by attempts the address may make: one flooding address cannot
        # lock a user out for everyone else
        wait = self.addresses.take(address) or self.users.take(username.strip().casefold())
        if wait:
            raise LocalizedError("login_rate_limited", status_code=status.HTTP_429_TOO_MANY_REQUESTS, seconds=wait)


def client_address(request: Request) -> str:
    """The client's address as the app sees it (already the forwarded one behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def check_login_rate(request: Request, username: str) -> None:
    """Spend an attempt of this request's address and of ``username`` (see ``LoginLimiter.check``)."""
    limiter: LoginLimiter = request.app.state.login_limiter
    limiter.check(client_address(request), username)
