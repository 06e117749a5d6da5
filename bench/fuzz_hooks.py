"""Schemathesis checks for wxa-backend (loaded by bench/fuzz through SCHEMATHESIS_HOOKS).

`envelope`: every JSON answer, and every error answer anywhere, is the product's envelope
`{"code": int, "msg": str, "data": ...}` whose `code` agrees with the HTTP status
(SPEC.md, "The contract in detail"). The few routes that are not envelopes by contract
(the OpenAPI document, Prometheus text, the push receiver's `success`, the authorize
redirect, the callback page) are let through on success only.

Server errors: a 500 (our fault) always fails. The upstream statuses of the contract pass
only in their exact shape: 502 is WeChat's own refusal of a value only WeChat can judge
(an unknown login code, an unpublished page) and must carry `{errcode, errmsg}`; 504 is
5001; 503 only where the contract has it (`/readyz`, and `/open/*` before WeChat's first
component_verify_ticket has arrived).
"""

import schemathesis

NOT_ENVELOPES = ("/openapi.json", "/metrics", "/open/ticket", "/open/authorize", "/open/callback")

# HTTP status -> the envelope codes allowed with it.
CODES = {
    200: {200}, 400: {400}, 401: {401}, 403: {403}, 404: {404}, 405: {405}, 409: {409},
    413: {413}, 429: {429}, 500: {500}, 502: {5000}, 503: {503}, 504: {5001},
}


@schemathesis.check
def envelope(ctx, response, case):
    path = case.operation.path
    status = response.status_code
    if status < 400 and path.startswith(NOT_ENVELOPES):
        return None
    if status in (301, 302, 303, 307, 308):
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{status} answered with {content_type!r}, not a JSON envelope")
    body = response.json()
    if not isinstance(body, dict) or set(body) != {"code", "msg", "data"}:
        raise AssertionError(f"not an envelope: {response.text[:200]}")
    if not isinstance(body["code"], int) or not isinstance(body["msg"], str):
        raise AssertionError(f"envelope with bad types: {response.text[:200]}")
    if status == 500:
        raise AssertionError(f"500 (our fault): {response.text[:200]}")
    if status == 502 and not {"errcode", "errmsg"} <= set(body["data"] or {}):
        raise AssertionError(f"502 without WeChat's errcode and errmsg: {response.text[:200]}")
    if status == 503 and not (path == "/readyz" or path.startswith("/open/")):
        raise AssertionError(f"503 on {path}: {response.text[:200]}")
    allowed = CODES.get(status)
    if allowed is None:
        raise AssertionError(f"unexpected HTTP status {status}: {response.text[:200]}")
    if body["code"] not in allowed:
        raise AssertionError(f"HTTP {status} with envelope code {body['code']}")
    return None
