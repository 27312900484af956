"""What the QuickBooks sandbox tests use to talk to it: a raw vendor-API client (no SDK in between), helpers that
write a customer or an invoice through it, and a local webhook receiver. Fixtures are in conftest.py."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

import httpx

from sandboxes.quickbooks import QuickBooksSandbox


class Api:
    """The vendor API (`/v3/company/{realm}`) over HTTPS with the sandbox's token, as a raw client calls it."""

    def __init__(self, http: httpx.Client, sandbox: QuickBooksSandbox) -> None:
        self.http = http
        self.prefix = f"/v3/company/{sandbox.realm_id}"
        self.headers = {"Authorization": "Bearer " + sandbox.access_token, "Accept": "application/json"}

    def post(self, path: str, body: dict, **params) -> httpx.Response:
        return self.http.post(self.prefix + path, content=json.dumps(body, default=str), headers=self.headers,
                              params={"minorversion": "75", **params})

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(self.prefix + path, headers=self.headers, params={"minorversion": "75", **params})

    def query(self, statement: str) -> httpx.Response:
        headers = {**self.headers, "Content-Type": "application/text"}
        return self.http.post(self.prefix + "/query", content=statement.encode("utf-8"), headers=headers,
                              params={"minorversion": "75"})

    def query_by_get(self, statement: str) -> httpx.Response:
        return self.http.get(self.prefix + "/query", headers=self.headers,
                             params={"query": statement, "minorversion": "75"})


def body(response: httpx.Response) -> dict:
    return json.loads(response.text, parse_float=Decimal)


def xml_fault(response: httpx.Response) -> dict[str, str]:
    """The Error of an XML IntuitResponse (QuickBooks answers throttling so): code, type, Message, Detail."""
    namespace = {"q": "http://schema.intuit.com/finance/v3"}
    root = ElementTree.fromstring(response.text)
    fault = root.find("q:Fault", namespace)
    error = fault.find("q:Error", namespace)
    return {"code": error.get("code"), "type": fault.get("type"), "time": root.get("time"),
            "Message": error.findtext("q:Message", namespaces=namespace),
            "Detail": error.findtext("q:Detail", namespaces=namespace)}


def fault_code(response: httpx.Response) -> str:
    if response.text.startswith("<?xml"):
        return xml_fault(response)["code"]
    answer = body(response)
    if "fault" in answer:  # 401/403: the API gateway's lower-case envelope
        return answer["fault"]["error"][0]["code"]
    return answer["Fault"]["Error"][0]["code"]


def new_customer(api: Api, name: str, currency: str = "USD") -> dict:
    response = api.post("/customer", {"DisplayName": name, "CurrencyRef": {"value": currency}})
    assert response.status_code == 200, response.text
    return body(response)["Customer"]


def new_invoice(api: Api, customer: dict, amounts: list[str], **extra) -> dict:
    lines = [
        {"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount),
         "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": Decimal(amount)}}
        for amount in amounts
    ]
    response = api.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": lines, **extra})
    assert response.status_code == 200, response.text
    return body(response)["Invoice"]


class Receiver:
    """A plain local HTTP endpoint that records each POST; answers `fail_next` requests with 500 first."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if receiver.fail_next > 0 else 200
                receiver.fail_next = max(0, receiver.fail_next - 1)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/qbo-webhooks"

    def events(self) -> list[dict]:
        return [event for _, body in self.received for event in json.loads(body)]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events()
