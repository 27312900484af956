"""Builders for money-movement objects (API 2026-10-28 shapes, keys of fixtures3.json): payment
method, payment intent, charge, refund, dispute, balance transaction, payout.
"""

from __future__ import annotations

from typing import Any

# Stripe's test payment methods: token -> (brand, last4, funding, outcome). Outcome None = success;
# otherwise (decline_code, message) of the card_declined error. "dispute" succeeds, then is disputed.
TEST_CARDS: dict[str, tuple[str, str, str | tuple[str, str] | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_visa_debit": ("visa", "5556", None),
    "pm_card_createDispute": ("visa", "0259", "dispute"),
    "pm_card_chargeDeclined": ("visa", "0002", ("generic_decline", "Your card was declined.")),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", ("insufficient_funds",
                                                                  "Your card has insufficient funds.")),
    "pm_card_chargeDeclinedLostCard": ("visa", "9987", ("lost_card", "Your card was declined.")),
    "pm_card_chargeDeclinedStolenCard": ("visa", "9979", ("stolen_card", "Your card was declined.")),
    "pm_card_chargeDeclinedFraudulent": ("visa", "0019", ("fraudulent", "Your card was declined.")),
}
# Declines whose error code is not card_declined (the decline_code still says why).
SPECIAL_CODES = {"pm_card_chargeDeclinedExpiredCard": ("visa", "0069", "expired_card", "Your card has expired."),
                 "pm_card_chargeDeclinedIncorrectCvc": ("visa", "0127", "incorrect_cvc",
                                                        "Your card's security code is incorrect."),
                 "pm_card_chargeDeclinedProcessingError": ("visa", "0119", "processing_error",
                                                           "An error occurred while processing your card. "
                                                           "Try again in a little bit.")}


def new_payment_method(pm_id: str, now: int, *, brand: str, last4: str, customer: str | None,
                       token: str) -> dict[str, Any]:
    return {
        "id": pm_id, "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": {"address": {"city": None, "country": None, "line1": None, "line2": None,
                                        "postal_code": None, "state": None},
                            "email": None, "name": None, "phone": None, "tax_id": None},
        "card": {"brand": brand, "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                            "cvc_check": "pass"},
                 "country": "US", "display_brand": brand, "exp_month": 12, "exp_year": 2034,
                 "fingerprint": token[-16:], "funding": "credit", "generated_from": None, "last4": last4,
                 "networks": {"available": [brand], "preferred": None}, "regulated_status": "unregulated",
                 "three_d_secure_usage": {"supported": True}, "wallet": None},
        "created": now, "customer": customer, "customer_account": None, "livemode": False, "metadata": {},
        "type": "card",
    }


def new_payment_intent(pi_id: str, now: int, *, amount: int, currency: str, customer: str | None,
                       description: str | None, metadata: dict[str, str], payment_method: str | None,
                       secret: str) -> dict[str, Any]:
    return {
        "id": pi_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None, "application_fee_amount": None,
        "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
        "capture_method": "automatic", "client_secret": f"{pi_id}_secret_{secret}",
        "confirmation_method": "automatic", "created": now, "currency": currency, "customer": customer,
        "customer_account": None, "description": description, "excluded_payment_method_types": None,
        "last_payment_error": None, "latest_charge": None, "livemode": False, "managed_payments": None,
        "metadata": metadata, "next_action": None, "on_behalf_of": None, "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None, "receipt_email": None, "review": None,
        "setup_future_usage": None, "shipping": None, "source": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": None, "transfer_group": None,
    }


def new_charge(charge_id: str, now: int, *, intent: dict[str, Any], method: dict[str, Any],
               failure: tuple[str, str, str] | None, balance_transaction: str | None) -> dict[str, Any]:
    """A charge for a payment intent's attempt; `failure` = (code, decline_code, message) or None."""
    succeeded = failure is None
    card = method["card"]
    outcome = {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
               "network_status": "approved_by_network" if succeeded else "declined_by_network",
               "reason": None if succeeded else failure[1], "risk_level": "normal", "risk_score": 20,
               "seller_message": "Payment complete." if succeeded else "The bank did not return any further "
               "details with this decline.", "type": "authorized" if succeeded else "issuer_declined"}
    return {
        "id": charge_id, "object": "charge", "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded else 0, "amount_refunded": 0, "application": None,
        "application_fee": None, "application_fee_amount": None, "balance_transaction": balance_transaction,
        "billing_details": method["billing_details"], "calculated_statement_descriptor": "CONCORD SANDBOX",
        "captured": succeeded, "created": now, "currency": intent["currency"], "customer": intent["customer"],
        "description": intent["description"], "disputed": False, "failure_balance_transaction": None,
        "failure_code": None if succeeded else failure[0], "failure_message": None if succeeded else failure[2],
        "fraud_details": {}, "livemode": False, "metadata": dict(intent["metadata"]), "on_behalf_of": None,
        "outcome": outcome, "paid": succeeded, "payment_intent": intent["id"], "payment_method": method["id"],
        "payment_method_details": {"card": {
            "amount_authorized": intent["amount"] if succeeded else None, "authorization_code": None,
            "brand": card["brand"], "checks": card["checks"], "country": "US", "exp_month": card["exp_month"],
            "exp_year": card["exp_year"], "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"], "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"}, "installments": None, "last4": card["last4"],
            "mandate": None, "multicapture": {"status": "unavailable"}, "network": card["brand"],
            "network_token": {"used": False}, "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": intent["amount"], "status": "unavailable"},
            "regulated_status": "unregulated", "three_d_secure": None, "wallet": None,
        }, "type": "card"},
        "receipt_email": None, "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/sandbox_{charge_id}", "refunded": False,
        "review": None, "shipping": None, "source": None, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "succeeded" if succeeded else "failed",
        "transfer_data": None, "transfer_group": None,
    }


def new_refund(refund_id: str, now: int, *, charge: dict[str, Any], amount: int, reason: str | None,
               metadata: dict[str, str], balance_transaction: str) -> dict[str, Any]:
    return {
        "id": refund_id, "object": "refund", "amount": amount, "balance_transaction": balance_transaction,
        "charge": charge["id"], "created": now, "currency": charge["currency"], "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": metadata, "payment_intent": charge["payment_intent"], "payment_method": charge["payment_method"],
        "reason": reason, "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
        "transfer_reversal": None,
    }


def new_dispute(dispute_id: str, now: int, *, charge: dict[str, Any], reason: str,
                balance_transactions: list[dict[str, Any]]) -> dict[str, Any]:
    evidence_fields = (
        "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
        "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
        "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
        "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt", "refund_policy",
        "refund_policy_disclosure", "refund_refusal_explanation", "service_date", "service_documentation",
        "shipping_address", "shipping_carrier", "shipping_date", "shipping_documentation",
        "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
    )
    card = charge["payment_method_details"]["card"]
    return {
        "id": dispute_id, "object": "dispute", "amount": charge["amount"],
        "balance_transactions": balance_transactions, "charge": charge["id"], "created": now,
        "currency": charge["currency"], "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(evidence_fields), "enhanced_evidence": {}},
        "evidence_details": {"due_by": now + 7 * 86_400, "enhanced_eligibility": {}, "has_evidence": False,
                             "past_due": False, "submission_count": 0},
        "is_charge_refundable": False, "livemode": False, "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {"card": {"brand": card["brand"], "case_type": "chargeback",
                                            "network": card["network"], "network_reason_code": "10.4"},
                                   "type": "card"},
        "reason": reason, "status": "needs_response",
    }


def new_balance_transaction(txn_id: str, now: int, *, amount: int, currency: str, fee: int,
                            fee_details: list[dict[str, Any]], source: str, kind: str, reporting_category: str,
                            description: str | None, available_on: int) -> dict[str, Any]:
    return {
        "id": txn_id, "object": "balance_transaction", "amount": amount, "available_on": available_on,
        "balance_type": "payments", "created": now, "currency": currency, "description": description,
        "exchange_rate": None, "fee": fee, "fee_details": fee_details, "net": amount - fee,
        "reporting_category": reporting_category, "source": source, "status": "pending", "type": kind,
    }


def fee_detail(amount: int, currency: str, kind: str, description: str) -> dict[str, Any]:
    return {"amount": amount, "application": None, "currency": currency, "description": description, "type": kind}


def new_payout(payout_id: str, now: int, *, amount: int, currency: str, automatic: bool, arrival_date: int,
               balance_transaction: str, description: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": payout_id, "object": "payout", "amount": amount, "application_fee": None,
        "application_fee_amount": None, "arrival_date": arrival_date, "automatic": automatic,
        "balance_transaction": balance_transaction, "created": now, "currency": currency,
        "description": description or "STRIPE PAYOUT", "destination": "ba_sandboxbankaccount0001",
        "failure_balance_transaction": None, "failure_code": None, "failure_message": None, "livemode": False,
        "metadata": metadata, "method": "standard", "original_payout": None, "payout_method": None,
        "reconciliation_status": "completed" if automatic else "not_applicable", "reversed_by": None,
        "source_type": "card", "statement_descriptor": None, "status": "pending",
        "trace_id": {"status": "pending", "value": None}, "type": "bank_account",
    }
