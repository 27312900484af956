"""A year of billing history for the seeded subscriptions (opt-in: `StripeState(seed, history_months=12)`).

Each seeded subscription is given the renewal invoices of the `months` before the sandbox clock at reset
(the window ends with the period that contains the clock): one a month for a monthly plan, one a year for a
yearly plan; the periods the seeded invoices already fill keep their seeded invoice, unchanged. Every
renewal has its lines (the plan's price for its period), and most are paid by card (payment intent,
charge, balance transaction with the card fee, invoice payment); some failed (a declined charge, the
invoice left open) or are simply still open; refunds and disputes follow the rules of the seeded history.

At scale that is millions of objects, far too many dicts, so the history is kept as a few integer
columns per renewal (`array`s) and each object is built from them when it is read:

- object ids encode the renewal's row number (`in_1Y<6 chars base62><customer suffix>00`, pi_/ch_/txn_/
  inpay_/re_/dp_ with the same suffix), so any id maps back to its row without a lookup table;
- the state's stores for these objects are `SeededStore`s: a dict of live objects that builds a seeded one
  on first access by id and keeps it (so handlers can change it like any other object); iterating a
  store yields only the live ones, so the list endpoints merge in the seeded rows through `sources()`;
- every seeded balance transaction is already paid out (a renewal whose money moves within the last days
  is built eagerly into the live stores instead), so the money code only ever sees live pending ones,
  and the balance adds `virtual_net`, what the seeded ones net per currency.

Everything is a function of the seed and of the clock at reset (which periods have begun).
"""

from __future__ import annotations

import calendar
import copy
import heapq
import string
import time
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sandboxes.stripe import catalog_objects, currencies, objects, payment_objects

if TYPE_CHECKING:
    from sandboxes.stripe.state import StripeState

Body = dict[str, Any]
DAY = 86_400
TAG = "1Y"  # marks a seeded-history id
_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # ASCII order: ids sort as rows do
_DECODE = {char: value for value, char in enumerate(_ALPHABET)}
PAID, OPEN, FAILED = 0, 1, 2
NO_FATE, FULL_REFUND, PARTIAL_REFUND, DISPUTE_OPEN, DISPUTE_LOST = 0, 1, 2, 3, 4
DECLINE = ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
AVAILABILITY_DELAY = 2 * DAY
# The id prefix of each kind of seeded-history object ("lines" are keyed by their invoice's id).
_KIND_PREFIX = {"invoice": "in_", "lines": "in_", "payment_intent": "pi_", "charge": "ch_",
                "balance_transaction": "txn_", "invoice_payment": "inpay_", "refund": "re_", "dispute": "dp_"}


def _encode(row: int) -> str:
    chars = []
    for _ in range(6):
        row, digit = divmod(row, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _decode(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _DECODE.get(char)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


_MONTH_START: dict[tuple[int, int], tuple[int, int]] = {}


def month_slot(year: int, month: int, anchor_day: int, seconds_in_day: int, months: int) -> int:
    """billing.add_interval(start, "month", months, anchor_day) for a start in (year, month), without datetime."""
    index = month - 1 + months
    key = (year + index // 12, index % 12 + 1)
    found = _MONTH_START.get(key)
    if found is None:
        found = _MONTH_START[key] = (calendar.timegm((*key, 1, 0, 0, 0)), calendar.monthrange(*key)[1])
    start, days = found
    return start + (min(anchor_day, days) - 1) * DAY + seconds_in_day


def _mix(*parts: int) -> int:
    """A small deterministic hash (Python's hash() of ints is stable, but spreads poorly)."""
    value = 0x9E3779B9
    for part in parts:
        value = ((value ^ (part & 0xFFFFFFFF)) * 0x01000193 + 0x7F4A7C15) & 0xFFFFFFFF
        value ^= value >> 15
    return value


class History:
    """The renewal rows and the objects built from them. `state` must already hold the seeded customers,
    payment methods, prices and subscriptions (finance_seed builds those first)."""

    def __init__(self, state: StripeState, months: int, now: int) -> None:
        self.state = state
        self.months = months
        self.now = now
        self.customer_index: dict[str, int] = {}
        self.first_row = array("i")  # per customer: its first row (rows of a customer are contiguous)
        self.first_number = array("i")  # per customer: the invoice sequence its first renewal takes
        self.plans: list[tuple[str, str, int, str]] = []  # per customer: price id, interval, amount, currency
        self.subscription_of: list[str] = []
        self.row_customer = array("i")
        self.row_created = array("q")  # the period's start: the renewal invoice's created
        self.row_period_end = array("q")
        self.row_status = array("b")
        self.row_attempt = array("q")  # when the card was charged (0: never)
        self.row_fate = array("b")
        self.row_fate_at = array("q")
        self.row_first = array("b")  # 1 for the subscription's first invoice (billing_reason subscription_create)
        self.eager: list[int] = []
        self.eager_rows: set[int] = set()
        self.virtual_net: dict[str, int] = {}  # what the (paid out) seeded-history transactions net, per currency
        self.payout_of_day: dict[tuple[str, int], str] = {}
        self.payout_rows: dict[str, array] = {}  # payout id -> its history transactions (row * 4 + kind)
        self.orders: dict[str, array] = {}

    # -- building the rows -------------------------------------------------------------------------

    def add_subscription(self, customer: Body, subscription: Body, price: Body, start: int,
                         seeded_slots: int) -> range:
        """Rows for one subscription (start = its first seeded invoice); returns them."""
        position = len(self.plans)
        self.customer_index[customer["id"]] = position
        interval = price["recurring"]["interval"]
        per = 12 if interval == "year" else 1
        self.plans.append((price["id"], interval, price["unit_amount"], price["currency"]))
        self.subscription_of.append(subscription["id"])
        self.first_row.append(len(self.row_customer))
        self.first_number.append(customer["next_invoice_sequence"])
        moment = time.gmtime(start)
        year, month, anchor, in_day = moment.tm_year, moment.tm_mon, moment.tm_mday, start % DAY
        now = self.now
        current = ((time.gmtime(now).tm_year - year) * 12 + time.gmtime(now).tm_mon - month) // per
        while month_slot(year, month, anchor, in_day, current * per) > now:
            current -= 1
        while month_slot(year, month, anchor, in_day, (current + 1) * per) <= now:
            current += 1
        count = -(-self.months // per)
        occupied = range(seeded_slots) if per == 1 else range(1)  # seeded invoices fill the first periods
        slots = [slot for slot in range(current - count + 1, current + 1) if slot not in occupied]
        first_slot = min([*slots, 0])
        for slot in slots:
            created = month_slot(year, month, anchor, in_day, slot * per)
            self._add_row(position, slot, created, month_slot(year, month, anchor, in_day, (slot + 1) * per),
                          slot == first_slot)
        customer["next_invoice_sequence"] += len(slots)
        return range(self.first_row[position], len(self.row_customer))

    def _add_row(self, position: int, slot: int, created: int, period_end: int, first: bool) -> None:
        seed = self.state.seed.seed
        roll = _mix(seed, position, slot)
        finalized = created + 3600
        status, attempt = PAID, finalized + DAY * (1 + roll // 100 % 5)
        if roll % 100 < 6:
            status, attempt = FAILED, finalized + DAY
        elif roll % 100 < 12:
            status, attempt = OPEN, 0
        if attempt > self.now:
            status, attempt = OPEN, 0  # not collected yet
        self.row_customer.append(position)
        self.row_created.append(created)
        self.row_period_end.append(period_end)
        self.row_status.append(status)
        self.row_attempt.append(attempt)
        self.row_fate.append(NO_FATE)
        self.row_fate_at.append(0)
        self.row_first.append(1 if first else 0)

    def settle(self) -> None:
        """Refunds and disputes (the seeded history's rules, taking only from what the history's payments net),
        then which rows are built eagerly (money moving in the last days), then the list orders."""
        headroom: dict[str, int] = {}
        for row in range(len(self.row_customer)):
            if self.row_status[row] == PAID:
                amount, currency = self.amount(row), self.currency(row)
                headroom[currency] = headroom.get(currency, 0) + amount - currencies.card_fee(amount, currency)
        paid_index = 0
        today = self.now // DAY
        for row in range(len(self.row_customer)):
            if self.row_status[row] != PAID:
                continue
            amount, currency, paid_at = self.amount(row), self.currency(row), self.row_attempt[row]
            step = 10 if currency in currencies.THREE_DECIMAL else 1
            fate, when, cost = NO_FATE, 0, 0
            if paid_index % 11 == 4 and headroom[currency] > amount:
                fate, when, cost = FULL_REFUND, paid_at + 3 * DAY, amount
            elif paid_index % 5 == 2 and headroom[currency] > amount // 4:
                fate, when, cost = PARTIAL_REFUND, paid_at + 6 * DAY, amount // 4 // step * step
            elif paid_index % 19 == 8 and headroom[currency] > amount + currencies.dispute_fee(currency):
                fate = DISPUTE_LOST if paid_index // 19 % 2 == 1 else DISPUTE_OPEN
                when, cost = paid_at + 12 * DAY, amount + currencies.dispute_fee(currency)
            paid_index += 1
            if fate != NO_FATE and when <= self.now:
                headroom[currency] -= cost
                self.row_fate[row], self.row_fate_at[row] = fate, when
            last_move = max(paid_at + AVAILABILITY_DELAY, self.row_fate_at[row])
            if last_move // DAY >= today:
                self.eager.append(row)  # not paid out yet: the live money code takes it from here
        eager = self.eager_rows = set(self.eager)
        self.orders = {
            "invoice": self._order(range(len(self.row_customer)), self.row_created, eager),
            "payment": self._order([r for r in range(len(self.row_customer)) if self.row_attempt[r]],
                                   self.row_attempt, eager),
            "refund": self._order([r for r in range(len(self.row_customer))
                                   if self.row_fate[r] in (FULL_REFUND, PARTIAL_REFUND)], self.row_fate_at, eager),
            "dispute": self._order([r for r in range(len(self.row_customer))
                                    if self.row_fate[r] in (DISPUTE_OPEN, DISPUTE_LOST)], self.row_fate_at, eager),
        }

    @staticmethod
    def _order(rows: Any, times: array, eager: set[int]) -> array:
        """Rows oldest first by (time, row); the row breaks ties as the id would (ids encode the row)."""
        return array("i", sorted((row for row in rows if row not in eager), key=times.__getitem__))

    def materialize_eager(self) -> None:
        for row in self.eager:
            for kind, object_id in self.ids_of(row):
                built = self.build(kind, object_id)
                if built is not None:
                    self.store(kind)[object_id] = built

    def settled_transactions(self) -> Iterator[tuple[str, int, int, int]]:
        """(currency, available day, net, row * 4 + kind) of every seeded-history balance transaction."""
        eager = set(self.eager)
        for row in range(len(self.row_customer)):
            if self.row_status[row] != PAID or row in eager:
                continue
            amount, currency = self.amount(row), self.currency(row)
            yield currency, (self.row_attempt[row] + AVAILABILITY_DELAY) // DAY, \
                amount - currencies.card_fee(amount, currency), row * 4 + 1
            fate, when = self.row_fate[row], self.row_fate_at[row]
            if fate in (FULL_REFUND, PARTIAL_REFUND):
                yield currency, when // DAY, -self.refund_amount(row), row * 4 + 2
            elif fate != NO_FATE:
                yield currency, when // DAY, -amount - currencies.dispute_fee(currency), row * 4 + 3

    def paid_out_in(self, payout_id: str, currency: str, days: list[int], refs: list[int], net: int) -> None:
        for day in days:
            self.payout_of_day[(currency, day)] = payout_id
        if refs:
            self.payout_rows[payout_id] = array("q", refs)
        self.virtual_net[currency] = self.virtual_net.get(currency, 0) + net

    # -- row facts ---------------------------------------------------------------------------------

    def amount(self, row: int) -> int:
        return self.plans[self.row_customer[row]][2]

    def currency(self, row: int) -> str:
        return self.plans[self.row_customer[row]][3]

    def refund_amount(self, row: int) -> int:
        amount = self.amount(row)
        if self.row_fate[row] == FULL_REFUND:
            return amount
        step = 10 if self.currency(row) in currencies.THREE_DECIMAL else 1
        return amount // 4 // step * step

    def suffix(self, row: int) -> str:
        return TAG + _encode(row) + self.subscription_of[self.row_customer[row]][4:18] + "00"

    def _customer_id(self, row: int) -> str:
        # Seeded subscription ids are sub_<customer suffix>subs000000 (finance_seed).
        return "cus_" + self.subscription_of[self.row_customer[row]][4:18]

    def row_of(self, object_id: Any) -> tuple[str, int] | None:
        """(prefix, row) of a seeded-history id, or None."""
        if not isinstance(object_id, str):
            return None
        prefix, _, rest = object_id.partition("_")
        if not rest.startswith(TAG) or len(rest) < 24:
            return None
        row = _decode(rest[2:8])
        if row is None or row >= len(self.row_customer) or not object_id.startswith(prefix + "_" + self.suffix(row)):
            return None
        return prefix + "_", row

    def ids_of(self, row: int) -> list[tuple[str, str]]:
        suffix = self.suffix(row)
        ids = [("invoice", "in_" + suffix), ("lines", "in_" + suffix)]
        if self.row_attempt[row]:
            ids += [("payment_intent", "pi_" + suffix), ("charge", "ch_" + suffix)]
        if self.row_status[row] == PAID:
            ids += [("balance_transaction", "txn_" + suffix), ("invoice_payment", "inpay_" + suffix)]
        fate = self.row_fate[row]
        if fate in (FULL_REFUND, PARTIAL_REFUND):
            ids += [("refund", "re_" + suffix), ("balance_transaction", "txn_" + suffix + "re")]
        elif fate != NO_FATE:
            ids += [("dispute", "dp_" + suffix), ("balance_transaction", "txn_" + suffix + "dp")]
        return ids

    def store(self, kind: str) -> dict[str, Any]:
        names = {"invoice": "invoices", "lines": "lines", "payment_intent": "payment_intents", "charge": "charges",
                 "balance_transaction": "balance_transactions", "invoice_payment": "invoice_payments",
                 "refund": "refunds", "dispute": "disputes"}
        return getattr(self.state, names[kind])

    # -- building objects ----------------------------------------------------------------------------

    def build(self, kind: str, object_id: Any) -> Any:
        """The seeded object `object_id` of `kind` (a store name's singular), or None when there is none."""
        found = self.row_of(object_id)
        if found is None:
            return None
        prefix, row = found
        suffix = self.suffix(row)
        status, fate = self.row_status[row], self.row_fate[row]
        if prefix != _KIND_PREFIX[kind]:
            return None
        if kind == "invoice" and object_id == "in_" + suffix:
            return self._invoice(row, suffix)
        if kind == "lines" and object_id == "in_" + suffix:
            return [self._line(row, suffix)]
        if kind == "payment_intent" and object_id == "pi_" + suffix and self.row_attempt[row]:
            return self._intent(row, suffix)
        if kind == "charge" and object_id == "ch_" + suffix and self.row_attempt[row]:
            return self._charge(row, suffix)
        if kind == "invoice_payment" and object_id == "inpay_" + suffix and status == PAID:
            return catalog_objects.new_invoice_payment(
                object_id, self.row_attempt[row], invoice="in_" + suffix, currency=self.currency(row),
                amount=self.amount(row), payment_intent="pi_" + suffix, status="paid")
        if kind == "balance_transaction" and status == PAID:
            return self._transaction(row, suffix, object_id[len("txn_" + suffix):])
        if kind == "refund" and object_id == "re_" + suffix and fate in (FULL_REFUND, PARTIAL_REFUND):
            return payment_objects.new_refund(object_id, self.row_fate_at[row], charge=self._charge(row, suffix),
                                              amount=self.refund_amount(row), reason="requested_by_customer",
                                              metadata={}, balance_transaction="txn_" + suffix + "re")
        if kind == "dispute" and object_id == "dp_" + suffix and fate in (DISPUTE_OPEN, DISPUTE_LOST):
            return self._dispute(row, suffix)
        return None

    def exists(self, kind: str, object_id: Any) -> bool:
        found = self.row_of(object_id)
        if found is None:
            return False
        return any(kind == each and object_id == known for each, known in self.ids_of(found[1]))

    def _invoice(self, row: int, suffix: str) -> Body:
        position = self.row_customer[row]
        customer = self.state.customers[self._customer_id(row)]
        created, status = self.row_created[row], self.row_status[row]
        invoice = objects.new_invoice("in_" + suffix, customer, customer["id"], self.currency(row), created,
                                      collection_method="send_invoice", due_date=created + 30 * DAY)
        finalized = created + 3600
        number = self.first_number[position] + row - self.first_row[position]
        invoice.update(
            number=f"{customer['invoice_prefix']}-{number:04d}", effective_at=finalized,
            webhooks_delivered_at=created, period_start=created, period_end=self.row_period_end[row],
            hosted_invoice_url=f"https://invoice.stripe.com/i/acct_sandbox/test_in_{suffix}",
            invoice_pdf=f"https://pay.stripe.com/invoice/acct_sandbox/test_in_{suffix}/pdf",
            billing_reason="subscription_create" if self.row_first[row] else "subscription_cycle",
            status="paid" if status == PAID else "open",
            parent={"quote_details": None, "subscription_details": {
                "metadata": {}, "subscription": self.subscription_of[position]}, "type": "subscription_details"})
        invoice["status_transitions"]["finalized_at"] = finalized
        if status != OPEN:
            invoice.update(attempted=True, attempt_count=1)
        if status == PAID:
            invoice["amount_paid"] = self.amount(row)
            invoice["status_transitions"]["paid_at"] = self.row_attempt[row]
        objects.recompute_totals(invoice, [self._line(row, suffix)])
        return invoice

    def _line(self, row: int, suffix: str) -> Body:
        price_id, interval, amount, currency = self.plans[self.row_customer[row]]
        price = self.state.prices[price_id]
        product = self.state.products[price["product"]]
        subscription = self.subscription_of[self.row_customer[row]]
        return {
            "id": "il_" + suffix, "object": "line_item", "amount": amount, "currency": currency,
            "description": f"1 × {product['name']} (at {currencies.format_amount(amount, currency)} / {interval})",
            "discount_amounts": [], "discountable": True, "discounts": [], "invoice": "in_" + suffix,
            "livemode": False, "metadata": {},
            "parent": {"invoice_item_details": None, "subscription_item_details": {
                "invoice_item": None, "proration": False, "proration_details": {"credited_items": None},
                "subscription": subscription, "subscription_item": "si_" + subscription[4:18]},
                "type": "subscription_item_details"},
            "period": {"end": self.row_period_end[row], "start": self.row_created[row]},
            "pretax_credit_amounts": [],
            "pricing": {"price_details": {"price": price_id, "product": price["product"]}, "type": "price_details",
                        "unit_amount_decimal": price["unit_amount_decimal"]},
            "quantity": 1, "quantity_decimal": "1", "subscription": subscription, "subtotal": amount, "taxes": [],
        }

    def _method(self, row: int) -> Body:
        return self.state.payment_methods["pm_" + self._customer_id(row)[4:] + "card00000"]

    def _intent(self, row: int, suffix: str) -> Body:
        customer = self.state.customers[self._customer_id(row)]
        number = self.first_number[self.row_customer[row]] + row - self.first_row[self.row_customer[row]]
        method = self._method(row)
        intent = payment_objects.new_payment_intent(
            "pi_" + suffix, self.row_attempt[row], amount=self.amount(row), currency=self.currency(row),
            customer=customer["id"], description=f"Payment for Invoice {customer['invoice_prefix']}-{number:04d}",
            metadata={}, payment_method=method["id"], secret=suffix[:12])
        intent["latest_charge"] = "ch_" + suffix
        if self.row_status[row] == PAID:
            intent.update(status="succeeded", amount_received=self.amount(row))
        else:
            code, decline_code, message = DECLINE
            intent.update(status="requires_payment_method", last_payment_error={
                "code": code, "charge": "ch_" + suffix, "decline_code": decline_code,
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}", "message": message,
                "payment_method": copy.deepcopy(method), "type": "card_error"})
        return intent

    def _charge(self, row: int, suffix: str) -> Body:
        paid = self.row_status[row] == PAID
        intent = self._intent(row, suffix)
        charge = payment_objects.new_charge("ch_" + suffix, self.row_attempt[row], intent=intent,
                                            method=self._method(row), failure=None if paid else DECLINE,
                                            balance_transaction="txn_" + suffix if paid else None)
        fate = self.row_fate[row]
        if fate in (FULL_REFUND, PARTIAL_REFUND):
            charge["amount_refunded"] = self.refund_amount(row)
            charge["refunded"] = fate == FULL_REFUND
        elif fate != NO_FATE:
            charge["disputed"] = True
        return charge

    def _transaction(self, row: int, suffix: str, tail: str) -> Body | None:
        amount, currency, fate = self.amount(row), self.currency(row), self.row_fate[row]
        if tail == "":
            fee = currencies.card_fee(amount, currency)
            paid_at = self.row_attempt[row]
            txn = self._txn("txn_" + suffix, paid_at, amount, currency, fee, "ch_" + suffix, "charge", "charge",
                            self._intent(row, suffix)["description"], paid_at + AVAILABILITY_DELAY,
                            "Stripe processing fees")
        elif tail == "re" and fate in (FULL_REFUND, PARTIAL_REFUND):
            when = self.row_fate_at[row]
            txn = self._txn("txn_" + suffix + "re", when, -self.refund_amount(row), currency, 0, "re_" + suffix,
                            "refund", "refund", "REFUND FOR CHARGE", when, "")
        elif tail == "dp" and fate in (DISPUTE_OPEN, DISPUTE_LOST):
            when = self.row_fate_at[row]
            txn = self._txn("txn_" + suffix + "dp", when, -amount, currency, currencies.dispute_fee(currency),
                            "dp_" + suffix, "adjustment", "dispute", f"Chargeback withdrawal for ch_{suffix}", when,
                            "Dispute fee")
        else:
            return None
        if txn["available_on"] <= self.now:
            txn["status"] = "available"
        return txn

    @staticmethod
    def _txn(txn_id: str, created: int, amount: int, currency: str, fee: int, source: str, kind: str,
             category: str, description: str, available_on: int, fee_kind: str) -> Body:
        details = [payment_objects.fee_detail(fee, currency, "stripe_fee", fee_kind)] if fee else []
        return payment_objects.new_balance_transaction(
            txn_id, created, amount=amount, currency=currency, fee=fee, fee_details=details, source=source,
            kind=kind, reporting_category=category, description=description, available_on=available_on)

    def _dispute(self, row: int, suffix: str) -> Body:
        txn = self._transaction(row, suffix, "dp")
        dispute = payment_objects.new_dispute("dp_" + suffix, self.row_fate_at[row], charge=self._charge(row, suffix),
                                              reason="fraudulent", balance_transactions=[txn])
        if self.row_fate[row] == DISPUTE_LOST:
            dispute["status"] = "lost"
            dispute["evidence_details"]["past_due"] = True
        return dispute

    def paid_out(self, txn_id: Any) -> str | None:
        """The seeded payout that settled a seeded-history balance transaction."""
        found = self.row_of(txn_id)
        if found is None or found[0] != "txn_" or self.row_status[found[1]] != PAID or found[1] in self.eager_rows:
            return None  # eager rows' transactions are live: state.paid_out holds theirs
        txn = self._transaction(found[1], self.suffix(found[1]), txn_id[len("txn_") + 24:])
        if txn is None:
            return None
        return self.payout_of_day.get((txn["currency"], txn["available_on"] // DAY))

    def all_invoices(self) -> Iterator[Body]:
        for row in self.orders["invoice"]:
            yield self._invoice(row, self.suffix(row))

    def is_virtual(self, object_id: str) -> bool:
        return object_id[object_id.find("_") + 1:].startswith(TAG) and self.row_of(object_id) is not None

    # -- listing -----------------------------------------------------------------------------------

    def customer_rows(self, customer_id: Any) -> range:
        position = self.customer_index.get(customer_id) if isinstance(customer_id, str) else None
        if position is None:
            return range(0)
        end = self.first_row[position + 1] if position + 1 < len(self.first_row) else len(self.row_customer)
        return range(self.first_row[position], end)

    def subscription_rows(self, subscription_id: Any) -> range:
        if not isinstance(subscription_id, str) or not subscription_id.startswith("sub_"):
            return range(0)
        rows = self.customer_rows("cus_" + subscription_id[4:18])
        return rows if rows and self.subscription_of[self.row_customer[rows[0]]] == subscription_id else range(0)

    def status_filter(self, status: str | None) -> Callable[[int], bool] | None:
        """An invoice `status=` filter on the columns (seeded renewals are paid or open)."""
        if status is None:
            return None
        wanted = {"paid": (PAID,), "open": (OPEN, FAILED)}.get(status, ())
        return lambda row: self.row_status[row] in wanted

    def rows_for(self, wanted: dict[str, Any]) -> Any:
        """The only rows a list filtered by `wanted` (param -> value) can show, or None (all of them)."""
        if "customer" in wanted:
            return self.customer_rows(wanted["customer"])
        if "subscription" in wanted:
            return self.subscription_rows(wanted["subscription"])
        for name in ("charge", "payment_intent", "invoice", "source"):
            if name in wanted:
                found = self.row_of(wanted[name])
                return [] if found is None else [found[1]]
        return None

    def sources(self, kind: str, rows: Any = None, row_filter: Callable[[int], bool] | None = None) -> list[Source]:
        """Sources of seeded objects of `kind` for a merged list, optionally only from `rows` (a customer's)
        and only rows passing `row_filter` (checked on the columns, before an object is built)."""
        eager = set(self.eager)

        def source(order_name: str, tail: str, prefix: str, times: array, kind_only: Callable[[int], bool],
                   build_kind: str) -> Source:
            only = kind_only if row_filter is None else (lambda row: kind_only(row) and row_filter(row))
            if rows is None:
                ordered: Any = self.orders[order_name]
            else:
                ordered = sorted((row for row in rows if row not in eager and only(row)), key=times.__getitem__)
            return Source(ordered, times, lambda row: prefix + self.suffix(row) + tail,
                          lambda object_id: self.build(build_kind, object_id), only)

        attempted = self.row_attempt.__getitem__
        paid, refunded, disputed = self._paid, self._refunded, self._disputed
        if kind == "invoice":
            return [source("invoice", "", "in_", self.row_created, lambda row: True, "invoice")]
        if kind in ("payment_intent", "charge"):
            prefix = "pi_" if kind == "payment_intent" else "ch_"
            return [source("payment", "", prefix, self.row_attempt, lambda row: bool(attempted(row)), kind)]
        if kind == "invoice_payment":
            return [source("payment", "", "inpay_", self.row_attempt, paid, kind)]
        if kind == "refund":
            return [source("refund", "", "re_", self.row_fate_at, refunded, kind)]
        if kind == "dispute":
            return [source("dispute", "", "dp_", self.row_fate_at, disputed, kind)]
        if kind == "balance_transaction":
            return [source("payment", "", "txn_", self.row_attempt, paid, kind),
                    source("refund", "re", "txn_", self.row_fate_at, refunded, kind),
                    source("dispute", "dp", "txn_", self.row_fate_at, disputed, kind)]
        return []

    def _paid(self, row: int) -> bool:
        return self.row_status[row] == PAID

    def _refunded(self, row: int) -> bool:
        return self.row_fate[row] in (FULL_REFUND, PARTIAL_REFUND)

    def _disputed(self, row: int) -> bool:
        return self.row_fate[row] in (DISPUTE_OPEN, DISPUTE_LOST)

    def payout_sources(self, payout_id: str) -> list[Source]:
        """The seeded-history balance transactions one seeded payout settled (the live version of any that
        was read since: list them with skip_live=False)."""
        by_kind: dict[int, list[int]] = {1: [], 2: [], 3: []}
        for ref in self.payout_rows.get(payout_id, array("q")):
            by_kind[ref % 4].append(ref // 4)
        built: list[Source] = []
        for kind, times, tail in ((1, self.row_attempt, ""), (2, self.row_fate_at, "re"), (3, self.row_fate_at, "dp")):
            built.append(Source(sorted(by_kind[kind], key=times.__getitem__), times, self._txn_id(tail),
                                self.state.balance_transactions.peek, lambda row: True))
        return built

    def _txn_id(self, tail: str) -> Callable[[int], str]:
        return lambda row: "txn_" + self.suffix(row) + tail


class Source:
    """Seeded objects in list order: `ordered` rows oldest first by (time, row) = (created, id)."""

    def __init__(self, ordered: Any, times: array, id_of: Callable[[int], str], build: Callable[[str], Any],
                 only: Callable[[int], bool]) -> None:
        self.ordered, self.times, self.id_of, self.build, self.only = ordered, times, id_of, build, only

    def _key(self, position: int) -> tuple[int, str]:
        row = self.ordered[position]
        return self.times[row], self.id_of(row)

    def _position(self, key: tuple[int, str]) -> int:
        """The number of rows whose key is below `key`."""
        low, high = 0, len(self.ordered)
        while low < high:
            middle = (low + high) // 2
            if self._key(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low

    def walk(self, below: tuple[int, str] | None, above: tuple[int, str] | None, descending: bool,
             floor: int | None, ceiling: int | None) -> Iterator[tuple[tuple[int, str], Body]]:
        """(key, object) strictly between `above` and `below`, newest first when `descending`; `floor` and
        `ceiling` bound the time (inclusive) before any object is built."""
        start = 0 if above is None else self._position(above)
        end = len(self.ordered) if below is None else self._position(below)
        if ceiling is not None:
            end = min(end, self._position((ceiling + 1, "")))
        if floor is not None:
            start = max(start, self._position((floor, "")))
        for position in range(end - 1, start - 1, -1) if descending else range(start, end):
            row = self.ordered[position]
            if not self.only(row):
                continue
            key = self._key(position)
            if above is not None and key <= above:
                continue
            built = self.build(key[1])
            if built is not None:
                yield key, built


class ListSource:
    """Live objects already chosen by the caller (a short list), in (created, id) order."""

    def __init__(self, items: list[Body]) -> None:
        self.keyed = sorted(((item.get("created") or 0, item["id"]), item) for item in items)
        self.keys = [key for key, _ in self.keyed]

    def walk(self, below: tuple[int, str] | None, above: tuple[int, str] | None, descending: bool,
             floor: int | None, ceiling: int | None) -> Iterator[tuple[tuple[int, str], Body]]:
        start, end = _bounds(self.keys, below, above, floor, ceiling)
        for position in range(end - 1, start - 1, -1) if descending else range(start, end):
            yield self.keyed[position]


class LiveSource:
    """Every live object of a SeededStore that `keep` accepts, from the store's maintained (created, id) order,
    so a page reads only as far as it needs instead of sorting the store."""

    def __init__(self, store: SeededStore, keep: Callable[[Body], bool]) -> None:
        self.store, self.keep = store, keep

    def walk(self, below: tuple[int, str] | None, above: tuple[int, str] | None, descending: bool,
             floor: int | None, ceiling: int | None) -> Iterator[tuple[tuple[int, str], Body]]:
        order = self.store.ordered()
        start, end = _bounds(order, below, above, floor, ceiling)
        for position in range(end - 1, start - 1, -1) if descending else range(start, end):
            key = order[position]
            item = dict.__getitem__(self.store, key[1])
            if self.keep(item):
                yield key, item


def _bounds(keys: list[tuple[int, str]], below: tuple[int, str] | None, above: tuple[int, str] | None,
            floor: int | None, ceiling: int | None) -> tuple[int, int]:
    start = 0 if above is None else bisect_right(keys, above)
    end = len(keys) if below is None else bisect_left(keys, below)
    if ceiling is not None:
        end = min(end, bisect_left(keys, (ceiling + 1, "")))
    if floor is not None:
        start = max(start, bisect_left(keys, (floor, "")))
    return start, end


def merged(live: Any, sources: list[Source], live_store: dict[str, Any], *, below: tuple[int, str] | None,
           above: tuple[int, str] | None, descending: bool, floor: int | None, ceiling: int | None,
           keep: Callable[[Body], bool], skip_live: bool = True) -> Iterator[Body]:
    """Live objects (a ListSource or LiveSource) and seeded ones (filtered by `keep`, skipped when a live
    version exists unless `skip_live` is off), in (created, id) order strictly between the bounds."""
    streams: list[Iterator[tuple[tuple[int, str], Body]]] = [live.walk(below, above, descending, floor, ceiling)]
    for source in sources:
        streams.append(entry for entry in source.walk(below, above, descending, floor, ceiling)
                       if not (skip_live and dict.__contains__(live_store, entry[0][1])) and keep(entry[1]))
    for _, item in heapq.merge(*streams, key=lambda entry: entry[0], reverse=descending):
        yield item


class SeededStore(dict):
    """A store of live objects that builds a seeded-history object on first access by id and keeps it.
    Iteration, len() and values() see only the live objects (see History.sources for lists). Once listed,
    it keeps its live objects' (created, id) keys in order as objects come and go."""

    def __init__(self, kind: str, history: History | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.history = history
        self._order: list[tuple[int, str]] | None = None
        self._index: dict[Any, set[Any]] | None = None  # customer (paid_out: payout) -> live keys

    def __missing__(self, key: Any) -> Any:
        built = None if self.history is None else self._built(key)
        if built is None:
            raise KeyError(key)
        self[key] = built
        return built

    def _built(self, key: Any) -> Any:
        assert self.history is not None
        if self.kind == "paid_out":
            return self.history.paid_out(key)
        return self.history.build(self.kind, key)

    def get(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if self.history is None:
            return False
        if self.kind == "paid_out":
            return self.history.paid_out(key) is not None
        return self.history.exists(self.kind, key)

    def peek(self, key: Any) -> Any:
        """The object without keeping it (list pages must not grow the store)."""
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return None if self.history is None else self._built(key)

    # -- the ordered keys --------------------------------------------------------------------------

    def ordered(self) -> list[tuple[int, str]]:
        if self._order is None:
            self._order = sorted((value.get("created") or 0, key) for key, value in dict.items(self))
        return self._order

    def _indexed(self, value: Any) -> Any:
        if self.kind == "paid_out":
            return value
        return value.get("customer") if isinstance(value, dict) else None

    def keys_with(self, indexed: Any) -> set[Any]:
        """The live keys whose object names this customer (paid_out: whose payout is this one)."""
        if self._index is None:
            self._index = {}
            for key, value in dict.items(self):
                self._index.setdefault(self._indexed(value), set()).add(key)
        return self._index.get(indexed, set())

    def __setitem__(self, key: Any, value: Any) -> None:
        known = dict.__contains__(self, key)
        if self._order is not None and not known:
            insort(self._order, (value.get("created") or 0, key))
        if self._index is not None:
            if known:
                self._index.get(self._indexed(dict.__getitem__(self, key)), set()).discard(key)
            self._index.setdefault(self._indexed(value), set()).add(key)
        dict.__setitem__(self, key, value)

    def _forget(self, key: Any, value: Any) -> None:
        if self._index is not None:
            self._index.get(self._indexed(value), set()).discard(key)
        if self._order is not None:
            entry = (value.get("created") or 0, key)
            position = bisect_left(self._order, entry)
            if position < len(self._order) and self._order[position] == entry:
                del self._order[position]
            else:
                self._order = None  # its created changed after it was stored: sort again when next listed

    def __delitem__(self, key: Any) -> None:
        value = dict.__getitem__(self, key)
        dict.__delitem__(self, key)
        self._forget(key, value)

    def pop(self, key: Any, *default: Any) -> Any:  # type: ignore[override]
        if dict.__contains__(self, key):
            value = dict.pop(self, key)
            self._forget(key, value)
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        dict.clear(self)
        self._order = self._index = None

    def popitem(self) -> tuple[Any, Any]:
        self._order = self._index = None
        return dict.popitem(self)
