"""Stripe connector over the official SDK (`stripe.StripeClient`).

Reads page through every customer and invoice (with all invoice lines) and yield plain dicts, as
the raw landing stores them; writes carry the caller's idempotency key so a retried outbox row
never creates a second object. Transient failures (connection errors, 409, 5xx) are retried by
the SDK itself (`max_network_retries`), reusing the same Idempotency-Key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import stripe
from pyrate_limiter import Limiter, Rate

from connectors.http_session import session_trusting
from connectors.rate_limit import account_key, limiter_for, stripe_rates_name

DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_TIMEOUT_SECONDS = 30.0


def http_client_trusting(
    ca_bundle: str | None, timeout: float = DEFAULT_TIMEOUT_SECONDS, limiter: Limiter | None = None
) -> stripe.HTTPClient | None:
    """An SDK HTTP client verifying TLS against `ca_bundle` and paced by `limiter`; None for the SDK default."""
    if ca_bundle is None and limiter is None:
        return None  # the SDK's default client, trusting its bundled CAs
    # Without a bundle of ours the SDK's own (stripe.ca_bundle_path) still applies per request.
    return stripe.RequestsClient(timeout=timeout, session=session_trusting(ca_bundle, limiter))


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
        limiter = None
        if rate_limits:
            limiter = limiter_for(stripe_rates_name(api_key), account_key("stripe", api_key), rate_limit_dir,
                                  rate_limits)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=http_client_trusting(ca_bundle, timeout, limiter),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StripeConnector:
        """STRIPE_API_KEY (required), STRIPE_API_BASE and CONCORD_CA_BUNDLE (optional)."""
        env = os.environ if environ is None else environ
        return cls(env["STRIPE_API_KEY"], env.get("STRIPE_API_BASE") or None, env.get("CONCORD_CA_BUNDLE") or None)

    # -- reads ---------------------------------------------------------------------------------

    def iter_customers(self, page_size: int = 100) -> Iterator[dict]:
        """Every customer, newest first, as plain dicts; pages of `page_size` (1..100)."""
        for customer in self._client.v1.customers.list({"limit": page_size}).auto_paging_iter():
            yield customer.to_dict()

    def iter_invoices(self, page_size: int = 100, status: str | None = None) -> Iterator[dict]:
        """Every invoice (optionally only one status), newest first, each with all of its lines."""
        params: dict[str, Any] = {"limit": page_size}
        if status is not None:
            params["status"] = status
        for invoice in self._client.v1.invoices.list(params).auto_paging_iter():
            yield self._with_all_lines(invoice.to_dict())

    def _with_all_lines(self, invoice: dict) -> dict:
        lines = invoice.get("lines") or {}
        if not lines.get("has_more"):
            return invoice
        # Stripe embeds only the first lines of an invoice; the rest come from its lines endpoint.
        every_line = self._client.v1.invoices.line_items.list(invoice["id"], {"limit": 100}).auto_paging_iter()
        invoice["lines"] = {**lines, "data": [line.to_dict() for line in every_line], "has_more": False}
        return invoice

    def retrieve_customer(self, customer_id: str) -> dict:
        return self._client.v1.customers.retrieve(customer_id).to_dict()

    # -- writes --------------------------------------------------------------------------------

    def create_customer(self, params: dict, idempotency_key: str) -> dict:
        """Create a customer; the same key and params again return the first result, not a new one."""
        created = self._client.v1.customers.create(params, {"idempotency_key": idempotency_key})
        return created.to_dict()
