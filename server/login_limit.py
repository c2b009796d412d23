"""Rate limits on logging in: per client address and per user name, for the login page and the token API.

Password guessing is slowed two ways: one address trying many names (every attempt spends a token of its
address), and many addresses (a botnet) trying one name (every wrong password spends a token of the name).
Only wrong passwords count against a name, and one address may spend at most half of a name's tokens (its
own bucket for that name, half the name's burst and rate), so one flooding address cannot lock a user out:
the right password from any address that is not itself over its limit still logs in. Locking a name needs
at least two addresses spending their whole share; that is the price of a bound on guesses per name, which
holds however many addresses guess. Tokens are taken before the password is checked and given back when it
is right, so a refused attempt costs the server no password hash and concurrent guesses cannot overshoot.
The client address is the proxy's ``X-Forwarded-For`` only when the proxy is trusted
(``Settings.trusted_proxies``), else the connection's own address.
"""

from __future__ import annotations

from fastapi import Request, status
from sqlalchemy.engine import Connection

from server.accounts import User, authenticate
from server.i18n import LocalizedError
from server.ratelimit import RateLimit, TokenBuckets, client_address


def address_share(per_user: RateLimit) -> RateLimit:
    """The most of a name's failures one address may spend: half its burst and rate, so the name keeps tokens."""
    return RateLimit(per_minute=per_user.per_minute / 2, burst=max(1, per_user.burst // 2))


class LoginLimiter:
    """Token buckets by address, by user name (case-insensitive) and by address and user name."""

    def __init__(self, per_address: RateLimit, per_user: RateLimit) -> None:
        self.addresses = TokenBuckets(per_address)
        self.users = TokenBuckets(per_user)
        self.shares = TokenBuckets(address_share(per_user))

    def check(self, address: str, username: str) -> None:
        """Spend an attempt of ``address`` and hold a failure of ``username`` (by this address and by anyone);
        LocalizedError 429 when any is spent. ``succeeded`` gives the held failure back."""
        name = _name_key(username)
        share = _share_key(address, name)
        wait = self.addresses.take(address) or self.shares.take(share)
        if not wait:
            wait = self.users.take(name)
            if wait:  # the name's own limit refused: no password was tried, so none of this address's share
                self.shares.give_back(share)
        if wait:
            raise LocalizedError("login_rate_limited", status_code=status.HTTP_429_TOO_MANY_REQUESTS, seconds=wait)

    def succeeded(self, address: str, username: str) -> None:
        """The password was right: only failures count against a name, so give back what ``check`` held."""
        name = _name_key(username)
        self.users.give_back(name)
        self.shares.give_back(_share_key(address, name))


def _name_key(username: str) -> str:
    return username.strip().casefold()


def _share_key(address: str, name: str) -> str:
    return f"{address}\n{name}"  # an address has no newline, so the pair is unambiguous


def attempt_login(request: Request, conn: Connection, username: str, password: str) -> User | None:
    """The user if the password is right, else None; LocalizedError 429 (before any hash) when over a limit."""
    limiter: LoginLimiter = request.app.state.login_limiter
    address = client_address(request)
    limiter.check(address, username)
    user = authenticate(conn, username, password)
    if user is not None:
        limiter.succeeded(address, username)
    return user
