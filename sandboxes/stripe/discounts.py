"""Coupons applied as discounts: discount objects, which invoices they reach, and how much each line gets.

Stripe discounts each discountable line: `percent_off` is rounded per line; `amount_off` is spread
over the lines in proportion to their amounts, so the line shares add up to the coupon amount
exactly (capped at what is left to discount). Three-decimal currencies (KWD...) work in steps of 10.
Several discounts apply one after the other, each on what the previous ones left. Taxes are then
computed on the discounted line amounts.
"""

from __future__ import annotations

from typing import Any

from sandboxes.stripe import currencies
from sandboxes.stripe.errors import StripeApiError

Body = dict[str, Any]


def new_discount(discount_id: str, coupon: Body, now: int, *, customer: str | None, end: int | None,
                 invoice: str | None = None, subscription: str | None = None) -> Body:
    return {
        "id": discount_id, "object": "discount", "checkout_session": None, "customer": customer,
        "customer_account": None, "end": end, "invoice": invoice, "invoice_item": None, "promotion_code": None,
        "source": {"coupon": coupon["id"], "type": "coupon"}, "start": now, "subscription": subscription,
        "subscription_item": None,
    }


def coupons_from_params(coupons: dict[str, Body], params: Body, currency: str, now: int) -> list[Body]:
    """The coupons named by `discounts[n][coupon]`, checked as Stripe checks them before redeeming."""
    raw = params.get("discounts") or []
    if isinstance(raw, dict):
        raw = [raw[key] for key in sorted(raw, key=int)]
    chosen = []
    for index, entry in enumerate(raw):
        param = f"discounts[{index}][coupon]"
        coupon_id = entry.get("coupon") if isinstance(entry, dict) else None
        if not coupon_id:
            raise StripeApiError(400, "You must specify a coupon for each discount.", code="parameter_missing",
                                 param=param)
        coupon = coupons.get(coupon_id)
        if coupon is None:
            raise StripeApiError(400, f"No such coupon: '{coupon_id}'", code="resource_missing", param=param)
        if not coupon["valid"] or (coupon["redeem_by"] is not None and coupon["redeem_by"] < now):
            raise StripeApiError(400, f"Coupon expired: {coupon_id}", code="coupon_expired", param=param)
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise StripeApiError(400, f"The currency of the coupon ({coupon['currency']}) must match the "
                                 f"currency of the invoice ({currency}).", code="parameter_invalid_string",
                                 param=param)
        chosen.append(coupon)
    return chosen


def redeem(coupon: Body) -> None:
    coupon["times_redeemed"] += 1
    if coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]:
        coupon["valid"] = False


def _step(currency: str) -> int:
    return 10 if currency in currencies.THREE_DECIMAL else 1


def _percent_share(amount: int, percent_off: Any, currency: str) -> int:
    basis = int(percent_off * 10_000)  # percent with 4 decimals, as an integer
    step = _step(currency)
    return currencies.round_half_even_div(amount * basis, 1_000_000 * step) * step


def _amount_shares(remaining: list[int], amount_off: int, currency: str) -> list[int]:
    """Spread `amount_off` over lines in proportion to `remaining`, largest remainders first, exact total."""
    step = _step(currency)
    base = sum(remaining)
    units = min(amount_off, base) // step
    if base <= 0 or units <= 0:
        return [0] * len(remaining)
    floors = [units * amount // base for amount in remaining]
    leftovers = sorted(range(len(remaining)), key=lambda i: (-(units * remaining[i] % base), i))
    for index in leftovers[: units - sum(floors)]:
        floors[index] += 1
    return [share * step for share in floors]


def allocate(lines: list[Body], discounts: list[tuple[Body, Body]], currency: str) -> list[Body]:
    """Set each line's `discount_amounts` for the (discount, coupon) pairs, in order; returns the invoice's
    `total_discount_amounts`. Lines that are not discountable or not positive (credits) get nothing."""
    remaining = [line["amount"] if line.get("discountable", True) and line["amount"] > 0 else 0 for line in lines]
    for line in lines:
        line["discount_amounts"] = []
    totals = []
    for discount, coupon in discounts:
        if coupon["percent_off"] is not None:
            shares = [min(_percent_share(amount, coupon["percent_off"], currency), amount) for amount in remaining]
        else:
            shares = _amount_shares(remaining, coupon["amount_off"], currency)
        for index, (line, share) in enumerate(zip(lines, shares, strict=True)):
            line["discount_amounts"].append({"amount": share, "discount": discount["id"]})
            remaining[index] -= share
        totals.append({"amount": sum(shares), "discount": discount["id"]})
    return totals


def line_discount(line: Body) -> int:
    return sum(entry["amount"] for entry in line.get("discount_amounts") or [])
