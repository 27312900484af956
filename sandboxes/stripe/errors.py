"""Stripe's error bodies: {"error": {"type", "code", "param", "message", "doc_url", ...}}."""

from __future__ import annotations

from typing import Any


class StripeApiError(Exception):
    """Raised by handlers; the sandbox turns it into Stripe's error response.

    `replayable` says whether an idempotent request that ended in this error stores its result.
    Stripe stores a result only once the endpoint started executing: parameter validation
    failures are not stored, so the client may fix the parameters and reuse the key.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's own field name
        code: str | None = None,
        param: str | None = None,
        replayable: bool = True,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.replayable = replayable
        self.extra = dict(extra or {})  # card errors carry decline_code, charge, payment_intent...
        self.headers = dict(headers or {})  # e.g. Stripe-Should-Retry

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def missing(object_name: str, object_id: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
    )


def invalid_param(param: str, message: str, code: str = "parameter_invalid") -> StripeApiError:
    # Validation happens before the endpoint executes: the idempotency key stays unused.
    return StripeApiError(400, message, code=code, param=param, replayable=False)


def missing_param(param: str) -> StripeApiError:
    return invalid_param(param, f"Missing required param: {param}.", code="parameter_missing")


def unknown_param(param: str) -> StripeApiError:
    return invalid_param(param, f"Received unknown parameter: {param}", code="parameter_unknown")
