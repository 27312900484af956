"""What Salesforce really answers when things go wrong, for the generic fault layer to serve.

Salesforce sends no request-id header on REST answers; every answer carries Sforce-Limit-Info.
A REST error body is a JSON list of {message, errorCode}.
"""

from __future__ import annotations

import hashlib

from sandboxes.http import Request, Response

FAULT_KINDS = ("rate_limit", "server_error", "expired_token")


def fault_response(kind: str, request: Request, limit_info: str) -> Response:
    headers = {"Sforce-Limit-Info": limit_info}
    if kind == "rate_limit":
        # Salesforce has no 429: an exhausted API quota is 403 REQUEST_LIMIT_EXCEEDED.
        body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return Response.json(body, status=403, headers=headers)
    if kind == "server_error":
        digest = hashlib.sha256(f"{request.method} {request.path}".encode()).hexdigest()
        error_id = f"{int(digest[:8], 16) % 10**10}-{int(digest[8:12], 16)} ({-(int(digest[12:20], 16) % 10**10)})"
        message = f"An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"
        return Response.json([{"message": message, "errorCode": "UNKNOWN_EXCEPTION"}], status=500, headers=headers)
    if kind == "expired_token":
        body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        return Response.json(body, status=401, headers=headers)
    raise ValueError(f"unknown fault kind {kind!r}; the Salesforce sandbox serves {', '.join(FAULT_KINDS)}")
