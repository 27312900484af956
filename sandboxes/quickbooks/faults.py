"""QuickBooks Online error bodies, shaped as the real API sends them.

Handlers raise `Fault`; the server turns it into `{"Fault": {"Error": [...], "type": ...}, "time": ...}`
with the HTTP status QuickBooks uses (400 for validation, 401 for authentication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr


@dataclass
class Fault(Exception):
    code: str
    message: str
    detail: str
    element: str | None = ""  # None: the body has no "element" key (query faults have none)
    fault_type: str = "ValidationFault"
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)
    xml: bool = False  # answered as an XML IntuitResponse whatever the client asked for (throttling does)

    def body(self, time: str) -> dict:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Fault": {"Error": [error], "type": self.fault_type}, "time": time}

    def xml_body(self, time: str) -> bytes:
        """The XML IntuitResponse, as QuickBooks sends a throttled answer even to `Accept: application/json`
        (python-quickbooks#43, QuickBooks-V3-PHP-SDK#54 quote it)."""
        text = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<IntuitResponse time={quoteattr(time)} xmlns="http://schema.intuit.com/finance/v3">\n'
                f'    <Fault type={quoteattr(self.fault_type)}>\n'
                f'        <Error code={quoteattr(self.code)}>\n'
                f'            <Message>{escape(self.message)}</Message>\n'
                f'            <Detail>{escape(self.detail)}</Detail>\n'
                '        </Error>\n    </Fault>\n</IntuitResponse>')
        return text.encode("utf-8")

    @property
    def from_gateway(self) -> bool:
        """401 and 403 come from Intuit's API gateway, which answers in its own (lower-case) envelope."""
        return self.status in (401, 403)

    def gateway_body(self, epoch_ms: int) -> dict:
        """The gateway's body, key for key as QuickBooks sends it (time in epoch milliseconds)."""
        error = {"message": self.message, "detail": self.detail, "code": self.code, "element": self.element or None}
        return {"warnings": None, "intuitObject": None, "fault": {"error": [error], "type": self.fault_type},
                "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
                "syncErrorResponse": None, "requestId": None, "time": epoch_ms, "status": None, "cdcresponse": []}


def authentication_failed() -> Fault:
    return Fault(
        code="3200",
        message="message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail="Token revoked or expired",
        fault_type="AUTHENTICATION",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def realm_not_authorized(realm_id: str) -> Fault:
    return Fault(
        code="3100",
        message="message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail=f"The token is not authorized for company {realm_id}",
        fault_type="SERVICE",
        status=403,
    )


def throttled() -> Fault:
    return Fault(
        code="3001",
        message="message=ThrottleExceeded; errorCode=003001; statusCode=429",
        detail="The request limit was reached.  Try again later",  # two spaces, as QuickBooks writes it
        fault_type="SERVICE",
        status=429,
        xml=True,
    )


def unsupported_operation(what: str) -> Fault:
    return Fault(code="500", message="Unsupported Operation", detail=f"Operation {what} is not supported.")


def object_not_found(entity: str, object_id: str) -> Fault:
    return Fault(
        code="610",
        message="Object Not Found",
        detail=f"Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. ({entity} {object_id})",
    )


def unsupported_property(name: str) -> Fault:
    return Fault(
        code="2010",
        message="Request has invalid or unsupported property",
        detail=f"Property Name:{name} specified is unsupported or invalid",
        element=name,
    )


def required_missing(element: str) -> Fault:
    return Fault(
        code="2020",
        message="Required param missing, need to supply the required value for the API",
        detail=f"Required parameter {element} is missing in the request",
        element=element,
    )


def invalid_string(element: str, value: str) -> Fault:
    return Fault(
        code="2040",
        message="Invalid String. The String may contain unsupported or illegal chars",
        detail=f"Element contains invalid characters. {value}",
        element=element,
    )


def string_length(element: str, maximum: int, supplied: int) -> Fault:
    return Fault(
        code="2050",
        message="String length is either shorter or longer than supported by specification",
        detail=f"String length specified does not match the supported length. Min:0 Max:{maximum} supplied:{supplied}",
        element=element,
    )


def invalid_reference(element: str, value: object) -> Fault:
    return Fault(
        code="2500",
        message="Invalid Reference Id",
        detail=f"Invalid Reference Id : {element} id {value} not found",
        element=element,
    )


def invalid_number(element: str, value: object) -> Fault:
    return Fault(
        code="2010",
        message="Request has invalid or unsupported property",
        detail=f"Property Name:{element} has an invalid number value {value!r}",
        element=element,
    )


def invalid_date(element: str, value: object) -> Fault:
    detail = f"Invalid date format for {element}: {value!r}"
    return Fault(code="2040", message="Invalid Date", detail=detail, element=element)


def not_queryable(path: str) -> Fault:
    """A WHERE or ORDERBY on a property the API reference does not mark filterable / sortable, as QuickBooks
    answers it (ruckus/quickbooks-ruby#403 quotes the body: ValidationFault, code 4001, no element).
    The detail for ORDERBY is assumed to be the same: no source shows QuickBooks' wording for it."""
    detail = f"QueryValidationError: property '{path}' is not queryable"
    return Fault(code="4001", message="Invalid query", detail=detail, element=None)


def query_parser_error(detail: str) -> Fault:
    return Fault(code="4000", message="Error parsing query", detail=f"QueryParserError: {detail}")


def stale_object() -> Fault:
    return Fault(
        code="5010",
        message="Stale Object Error",
        detail="Stale Object Error : You and another user were working on the same thing. "
        "The other user finished before you did, so your work was not saved.",
    )


def business_validation(detail: str) -> Fault:
    return Fault(
        code="6000",
        message="A business validation error has occurred while processing your request",
        detail=f"Business Validation Error: {detail}",
    )


def amount_mismatch(supplied: object) -> Fault:
    return Fault(
        code="6070",
        message="Amount calculation incorrect in the request",
        detail=f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
        element="Line.Amount",
    )


def no_name_provided() -> Fault:
    return Fault(
        code="6080",
        message="No Name Provided",
        detail="Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be non-empty",
    )


def duplicate_name(name: str) -> Fault:
    return Fault(
        code="6240",
        message="Duplicate Name Exists Error",
        detail="The name supplied already exists. : Another customer, vendor or employee is already using this "
        f"name. Please use a different name. Name={name}",
    )


def token_expired(token: str = "") -> Fault:
    """An access token past its hour (QuickBooks measures it on its own clock, here the sandbox clock).
    The real detail names the token: "Token expired: <access token>"."""
    return Fault(
        code="3200",
        message="message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail=f"Token expired: {token}" if token else "Token expired",
        fault_type="AUTHENTICATION",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token", error_description="Token expired"'},
    )


def system_failure(status: int = 500) -> Fault:
    return Fault(
        code="10000",
        message="An application error has occurred while processing your request",
        detail="System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again. If the problem persists, contact customer support.",
        fault_type="SystemFault",
        status=status,
    )


def object_inactive(entity: str, object_id: str) -> Fault:
    return Fault(
        code="610",
        message="Object Not Found",
        detail="Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. ({entity} {object_id})",
    )


def duplicate_list_name(kind: str, name: str) -> Fault:
    """6240 for name-list entities other than customers (accounts, items): same code, its own wording."""
    return Fault(
        code="6240",
        message="Duplicate Name Exists Error",
        detail=f"The name supplied already exists. : Another {kind} is already using this name. "
        f"Please use a different name. Name={name}",
    )


def deposited_transaction(txn_id: str) -> Fault:
    return Fault(
        code="6540",
        message="Deposited Transaction cannot be changed",
        detail="This transaction has been deposited. If you want to change or delete it, you must first edit the "
        f"deposit it appears on and remove it. (Payment {txn_id})",
    )


def journal_unbalanced(debits: object, credits: object) -> Fault:
    return Fault(
        code="6000",
        message="A business validation error has occurred while processing your request",
        detail="Business Validation Error: Your transaction doesn't balance. Make sure the total debits equal the "
        f"total credits. (debits {debits}, credits {credits})",
    )


def cdc_too_old(changed_since: str) -> Fault:
    return Fault(
        code="10000",
        message="An application error has occurred while processing your request",
        detail=f"Operation cdc with changedSince date {changed_since} which is older than fixed days is not supported.",
        fault_type="SystemFault",
    )


def batch_too_large(size: int, maximum: int) -> Fault:
    return Fault(
        code="2010",  # QuickBooks answers an oversized batch as an invalid request, before running any item
        message="Request has invalid or unsupported property",
        detail=f"Batch size {size} exceeds the maximum of {maximum} BatchItemRequest items",
        element="BatchItemRequest",
    )


def invalid_enumeration(element: str, value: object) -> Fault:
    return Fault(code="2170", message="Invalid Enumeration", detail=f"Invalid Enumeration : {value}",
                 element=element)
