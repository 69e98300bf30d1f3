"""Webhook signatures: `X-MR-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over the bytes
`<t>.` followed by the raw body, keyed with the subscription's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-MR-Signature"


def new_secret() -> str:
    """A subscription's signing secret, shown once at creation."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, *, t: int) -> str:
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
