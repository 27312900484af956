"""QuickBooks Online Accounting API sandbox (v3, minorversion 75)."""

from sandboxes.quickbooks.server import REALM_ID, QuickBooksSandbox

__all__ = ["REALM_ID", "QuickBooksSandbox"]
