"""Schemathesis hook: signs every request the way a Huitong partner does (docs/gateway.md, "Signing").

The signature is computed by a `requests` auth callable, i.e. over the exact bytes, method and path+query that go on
the wire. Environment: HUITONG_ST_PARTNER (partner id), HUITONG_ST_SECRET (its HMAC-SM3 secret, hex).
"""
import hashlib
import hmac
import os
import secrets
import time

import schemathesis

PARTNER = os.environ["HUITONG_ST_PARTNER"]
SECRET = bytes.fromhex(os.environ["HUITONG_ST_SECRET"])


def sm3(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


class HuitongSignature:
    """requests auth: adds X-Huitong-Partner/-Timestamp/-Nonce/-Signature (hmac-sm3)."""

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        canonical = "\n".join(
            ["HUITONG-SIG-V1", request.method.upper(), request.path_url, PARTNER, timestamp, nonce, sm3(body)]
        ).encode("utf-8")
        mac = hmac.new(SECRET, canonical, lambda: hashlib.new("sm3")).hexdigest()
        request.headers["X-Huitong-Partner"] = PARTNER
        request.headers["X-Huitong-Timestamp"] = timestamp
        request.headers["X-Huitong-Nonce"] = nonce
        request.headers["X-Huitong-Signature"] = "hmac-sm3=" + mac
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = HuitongSignature()
