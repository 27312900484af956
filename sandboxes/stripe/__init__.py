"""A local Stripe API sandbox; see sandbox.py for what it serves."""

from sandboxes.stripe.sandbox import StripeSandbox

__all__ = ["StripeSandbox"]
