"""How finance books Stripe activity: everything flows through a clearing account.

- payment (charge): Dr clearing gross / Cr accounts receivable; its processing fee: Dr fees / Cr clearing
- refund (partial or full): Dr refunds / Cr clearing (its own re_ id, never the charge's)
- dispute: Dr dispute losses / Cr clearing for the amount, Dr dispute fees / Cr clearing for the fee;
  a won dispute (dispute_reversal) reverses both
- payout: a Deposit, Dr bank / Cr clearing; when every payout is deposited the clearing account is zero
- other Stripe fees and adjustments: Dr/Cr fees against clearing

Amounts are the balance transaction's (settlement currency), so the books match the bank; the charge's
presentment currency and Stripe's exchange rate ride along for the invoice's payment in QuickBooks.
Account names/ids are configuration (LedgerAccounts), never constants. Dates are accounting dates in the
company's timezone (mappings.dates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mappings.canonical import MappingError
from mappings.dates import CompanyCalendar
from mappings.model.payouts import BalanceTransaction, Payout
from mappings.money import Money, to_quickbooks_amount

MAPPING_VERSION = 1


@dataclass(frozen=True)
class AccountRef:
    id: str  # the QuickBooks Account Id
    name: str

    def as_quickbooks(self) -> dict:
        return {"value": self.id, "name": self.name}


@dataclass(frozen=True)
class LedgerAccounts:
    clearing: AccountRef  # "Stripe clearing" (Other current asset)
    bank: AccountRef  # where payouts land
    accounts_receivable: AccountRef
    processing_fees: AccountRef  # expense
    refunds: AccountRef  # contra-revenue or the income account itself, as finance prefers
    dispute_losses: AccountRef
    dispute_fees: AccountRef


@dataclass(frozen=True)
class JournalLine:
    account: AccountRef
    debit: Money | None = None
    credit: Money | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if (self.debit is None) == (self.credit is None):
            raise ValueError("a journal line is either a debit or a credit")
        amount = self.debit if self.debit is not None else self.credit
        if amount.amount_minor < 0:
            raise ValueError("journal amounts are positive; the side says the direction")

    @property
    def amount(self) -> Money:
        return self.debit if self.debit is not None else self.credit  # type: ignore[return-value]


@dataclass(frozen=True)
class JournalEntry:
    source_id: str  # the Stripe id it books (txn_, po_): the idempotency key of the booking
    txn_date: date
    memo: str
    lines: tuple[JournalLine, ...]

    @property
    def currency(self) -> str:
        return self.lines[0].amount.currency

    def debits(self) -> int:
        return sum(line.debit.amount_minor for line in self.lines if line.debit is not None)

    def credits(self) -> int:
        return sum(line.credit.amount_minor for line in self.lines if line.credit is not None)

    def is_balanced(self) -> bool:
        return self.debits() == self.credits()


def _pair(debit: AccountRef, credit: AccountRef, amount: Money, description: str) -> list[JournalLine]:
    """Dr `debit` / Cr `credit`; a negative amount swaps the sides; zero books nothing."""
    if amount.amount_minor == 0:
        return []
    if amount.amount_minor < 0:
        debit, credit, amount = credit, debit, -amount
    return [JournalLine(debit, debit=amount, description=description),
            JournalLine(credit, credit=amount, description=description)]


# reporting_category -> the account on the other side of clearing for the gross amount
def _counter_account(txn: BalanceTransaction, accounts: LedgerAccounts) -> AccountRef:
    category = txn.reporting_category
    if category in ("charge", "payment"):
        return accounts.accounts_receivable
    if category in ("refund", "refund_failure", "partial_capture_reversal"):
        return accounts.refunds
    if category in ("dispute", "dispute_reversal"):
        return accounts.dispute_losses
    if category in ("fee", "other_adjustment", "tax"):
        return accounts.processing_fees
    raise MappingError(f"{txn.ids.get('stripe')}: no booking rule for reporting_category {category!r}",
                       field="reporting_category", reason="unbooked category")


def book_balance_transaction(
    txn: BalanceTransaction, accounts: LedgerAccounts, calendar: CompanyCalendar
) -> JournalEntry:
    """One balance transaction (not a payout) as a balanced journal entry through clearing."""
    if txn.reporting_category in ("payout", "payout_reversal"):
        raise MappingError(f"{txn.ids.get('stripe')}: payouts are booked from the payout (book_payout)",
                           field="reporting_category", reason="payout")
    counter = _counter_account(txn, accounts)
    source = txn.source_stripe_id or txn.ids["stripe"]
    # Money in (positive amount) is Dr clearing / Cr counter; money out swaps (see _pair).
    lines = _pair(accounts.clearing, counter, txn.amount, f"{txn.reporting_category} {source}")
    fee_account = accounts.dispute_fees if txn.reporting_category.startswith("dispute") else accounts.processing_fees
    lines += _pair(fee_account, accounts.clearing, txn.fee, f"Stripe fee {source}")
    return JournalEntry(txn.ids["stripe"], calendar.accounting_date(txn.created), f"Stripe {txn.type} {source}",
                        tuple(lines))


def book_payout(payout: Payout, accounts: LedgerAccounts, calendar: CompanyCalendar) -> JournalEntry:
    """The payout as a deposit: Dr bank / Cr clearing, dated the day it arrives in the bank."""
    payout_id = payout.ids["stripe"]
    lines = _pair(accounts.bank, accounts.clearing, payout.amount, f"Stripe payout {payout_id}")
    return JournalEntry(payout_id, calendar.accounting_date(payout.arrival_date), f"Stripe payout {payout_id}",
                        tuple(lines))


def account_balances(entries: Iterable[JournalEntry]) -> dict[str, int]:
    """Debit-positive balance per account id, in minor units (one currency per ledger)."""
    balances: dict[str, int] = {}
    for entry in entries:
        for line in entry.lines:
            signed = line.amount.amount_minor if line.debit is not None else -line.amount.amount_minor
            balances[line.account.id] = balances.get(line.account.id, 0) + signed
    return balances


# -- QuickBooks bodies -----------------------------------------------------------------------------


def journal_entry_to_quickbooks(entry: JournalEntry) -> dict:
    """A QuickBooks JournalEntry (Finance.xsd: Line/JournalEntryLineDetail/PostingType, AccountRef)."""
    return {
        "TxnDate": entry.txn_date.isoformat(),
        "PrivateNote": f"stripe:{entry.source_id}",
        "CurrencyRef": {"value": entry.currency},
        "Line": [
            {
                "Id": str(position),
                "Description": line.description,
                "Amount": to_quickbooks_amount(line.amount),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit" if line.debit is not None else "Credit",
                    "AccountRef": line.account.as_quickbooks(),
                },
            }
            for position, line in enumerate(entry.lines, start=1)
        ],
    }


def deposit_to_quickbooks(payout: Payout, accounts: LedgerAccounts, calendar: CompanyCalendar) -> dict:
    """A QuickBooks Deposit of the payout from clearing into the bank (Finance.xsd: DepositToAccountRef,
    Line/DepositLineDetail/AccountRef)."""
    payout_id = payout.ids["stripe"]
    return {
        "TxnDate": calendar.accounting_date(payout.arrival_date).isoformat(),
        "PrivateNote": f"stripe:{payout_id}",
        "CurrencyRef": {"value": payout.amount.currency},
        "DepositToAccountRef": accounts.bank.as_quickbooks(),
        "Line": [
            {
                "Amount": to_quickbooks_amount(payout.amount),
                "Description": f"Stripe payout {payout_id}",
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": accounts.clearing.as_quickbooks()},
            }
        ],
        "TotalAmt": to_quickbooks_amount(payout.amount),
    }
