"""Stripe connector over the official SDK (`stripe.StripeClient`).

Reads page through every customer and invoice (with all invoice lines) and yield plain dicts, as
the raw landing stores them; writes carry the caller's idempotency key so a retried outbox row
never creates a second object. Transient failures (connection errors, 409, 5xx) are retried by
the SDK itself (`max_network_retries`), reusing the same Idempotency-Key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import stripe
from pyrate_limiter import Limiter, Rate

from connectors.http_session import ResponseStats, session_trusting
from connectors.rate_limit import account_key, limiter_for, stripe_rates_name
from connectors.retry import call_with_retries, retry_after_seconds

T = TypeVar("T")

DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_TIMEOUT_SECONDS = 30.0


def http_client_trusting(
    ca_bundle: str | None, timeout: float = DEFAULT_TIMEOUT_SECONDS, limiter: Limiter | None = None
) -> stripe.RequestsClient:
    """An SDK HTTP client verifying TLS against `ca_bundle` and paced by `limiter`.

    Without a bundle of ours the SDK's own (stripe.ca_bundle_path) still applies per request.
    """
    return stripe.RequestsClient(timeout=timeout, session=session_trusting(ca_bundle, limiter))


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, stripe.IdempotencyError):
        return False  # the key was reused with other parameters: retrying cannot help
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 0) >= 500


def _retry_after(error: BaseException) -> float | None:
    return retry_after_seconds(getattr(error, "headers", None))


class StripeConnector:
    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        ca_bundle: str | None = None,
        *,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        rate_limits: list[Rate] | None = None,
        rate_limit_dir: str | None = None,
    ) -> None:
        """With `rate_limits`, every request first takes a permit from the account's shared bucket
        (in `rate_limit_dir`, so all threads and processes of a run stay within Stripe's limit together)."""
        # The SDK retries 5xx and dropped connections itself, but not truncated bodies or 429s:
        # those come back to _call, which retries them with the same idempotency key.
        self._attempts = max(1, max_network_retries + 1)
        limiter = None
        if rate_limits:
            limiter = limiter_for(stripe_rates_name(api_key), account_key("stripe", api_key), rate_limit_dir,
                                  rate_limits)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=(http_client := http_client_trusting(ca_bundle, timeout, limiter)),
        )
        self.response_stats: ResponseStats = http_client._session.stats

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StripeConnector:
        """STRIPE_API_KEY (required), STRIPE_API_BASE and CONCORD_CA_BUNDLE (optional)."""
        env = os.environ if environ is None else environ
        return cls(env["STRIPE_API_KEY"], env.get("STRIPE_API_BASE") or None, env.get("CONCORD_CA_BUNDLE") or None)

    # -- reads ---------------------------------------------------------------------------------

    def _call(self, operation: Callable[[], T], what: str) -> T:
        return call_with_retries(operation, _is_retryable, attempts=self._attempts, initial_wait=0.25,
                                 retry_after=_retry_after, what=f"Stripe {what}")

    def _pages(self, list_page: Callable[[dict], Any], params: dict[str, Any], what: str) -> Iterator[dict]:
        """Every object of a list endpoint, page by page, each page fetched with retries."""
        params = dict(params)
        while True:
            page = self._call(lambda: list_page(params), what)
            yield from (item.to_dict() for item in page.data)
            if not page.has_more or not page.data:
                return
            params["starting_after"] = page.data[-1].id

    def iter_customers(self, page_size: int = 100) -> Iterator[dict]:
        """Every customer, newest first, as plain dicts; pages of `page_size` (1..100)."""
        return self._pages(self._client.v1.customers.list, {"limit": page_size}, "customer list")

    def iter_invoices(self, page_size: int = 100, status: str | None = None) -> Iterator[dict]:
        """Every invoice (optionally only one status), newest first, each with all of its lines."""
        params: dict[str, Any] = {"limit": page_size}
        if status is not None:
            params["status"] = status
        for invoice in self._pages(self._client.v1.invoices.list, params, "invoice list"):
            yield self._with_all_lines(invoice)

    def _with_all_lines(self, invoice: dict) -> dict:
        lines = invoice.get("lines") or {}
        if not lines.get("has_more"):
            return invoice
        # Stripe embeds only the first lines of an invoice; the rest come from its lines endpoint.
        every_line = self._pages(lambda params: self._client.v1.invoices.line_items.list(invoice["id"], params),
                                 {"limit": 100}, "invoice lines")
        invoice["lines"] = {**lines, "data": list(every_line), "has_more": False}
        return invoice

    def retrieve_customer(self, customer_id: str) -> dict:
        return self._call(lambda: self._client.v1.customers.retrieve(customer_id), "customer read").to_dict()

    # -- writes --------------------------------------------------------------------------------

    def create_customer(self, params: dict, idempotency_key: str) -> dict:
        """Create a customer; the same key and params again return the first result, not a new one."""
        created = self._call(
            lambda: self._client.v1.customers.create(params, {"idempotency_key": idempotency_key}), "customer create"
        )
        return created.to_dict()
