"""Security headers on every response, as a small ASGI middleware (no dependency on the routes)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Only same-origin resources; no inline script or style (the pages ship their assets from static/);
# images may be data: URLs (sparklines, QR codes); the app is never framed (click-jacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The browser features a shop-floor dashboard never needs.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
# One year, the ASVS 3.4.1 minimum; sent only for HTTPS deployments (an HTTP box would be unreachable).
HSTS_MAX_AGE_S = 365 * 24 * 3600

_ALWAYS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, Referrer-Policy, Permissions-Policy (and HSTS behind HTTPS) to every response.

    Responses to requests that carry the session cookie, and responses that set one, also get
    ``Cache-Control: no-store``: what a signed-in user saw must not stay in a shared tablet's cache.
    """

    def __init__(self, app: ASGIApp, *, session_cookie: str, hsts: bool = False) -> None:
        self.app = app
        self.session_cookie = session_cookie.encode()
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie")
        signed_in = self.session_cookie + b"=" in cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in _ALWAYS if h[0] not in present)
                if self.hsts:
                    headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE_S}".encode()))
                sets_session = any(
                    k.lower() == b"set-cookie" and v.startswith(self.session_cookie + b"=")
                    for k, v in headers
                )
                if signed_in or sets_session:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
