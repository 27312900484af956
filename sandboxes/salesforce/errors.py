"""Errors in the shape the Salesforce REST API answers them: a JSON list of {message, errorCode[, fields]}."""

from __future__ import annotations

from typing import Any

from sandboxes.http import Response


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields
        self._body = body  # for the few answers that are not an error list (300 Multiple Choices)

    def body(self) -> Any:
        if self._body is not None:
            return self._body
        error: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            error["fields"] = self.fields
        return [error]

    def response(self) -> Response:
        return Response.json(self.body(), status=self.status)


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)
