"""``SecurityHeaders``: what every answer of the ranger page carries against a hostile page.

The ranger page opens the barrier, so another site must not frame it or run script in it: a
Content-Security-Policy lets scripts, styles, images and connections (the live feed, the camera) come from
the gate only and never inline (the templates' script is ``static/ranger.js``, started by its tag's
``data-start``), ``frame-ancestors 'none'`` and ``X-Frame-Options`` keep it out of frames, ``nosniff``
keeps a JPEG or JSON answer from being taken for script, and the referrer stays within the gate (the
language switch goes back to the page it came from by it).
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Pure ASGI middleware (streams such as the live feed pass through untouched): ``HEADERS`` on every
    HTTP response, in place of any the app set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in HEADERS}
                kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in names]
                message = {**message, "headers": [*kept, *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
