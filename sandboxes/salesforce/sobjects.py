"""The sObjects of the sandbox org: standard fields a sync client reads, plus the org's custom fields.

Custom fields are the ones Concord's design asks an admin to add: Stripe ids as External ID
(Unique, case-sensitive, because Stripe ids are) on Account, Product2 and PricebookEntry, Concord's
key on Pricebook2 (External ID too), and the Account billing fields Concord keeps from Stripe.
"""

from __future__ import annotations

from sandboxes.salesforce.schema import ACTIVE_CURRENCIES, CORPORATE_CURRENCY, FieldSpec, ObjectSchema

_READ_ONLY = {"createable": False, "updateable": False, "nillable": False}

# Stripe's subscription statuses, the values of Account.Stripe_Subscription_Status__c.
SUBSCRIPTION_STATUSES = ("incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid",
                         "paused")

# Opportunity stages of a new org: (name, default probability, closed?, won?).
OPPORTUNITY_STAGES = (
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
STAGE_BY_NAME = {stage[0]: stage for stage in OPPORTUNITY_STAGES}


def _system_fields(object_label: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("Id", "id", f"{object_label} ID", length=18, case_sensitive=True, **_READ_ONLY),
        FieldSpec("IsDeleted", "boolean", "Deleted", **_READ_ONLY),
    )


def _audit_fields() -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("CreatedDate", "datetime", "Created Date", **_READ_ONLY),
        FieldSpec("LastModifiedDate", "datetime", "Last Modified Date", **_READ_ONLY),
        FieldSpec("SystemModstamp", "datetime", "System Modstamp", **_READ_ONLY),
    )


def _currency(label: str, updateable: bool = True) -> FieldSpec:
    return FieldSpec("CurrencyIsoCode", "picklist", label, length=3, nillable=False, updateable=updateable,
                     picklist_values=ACTIVE_CURRENCIES, restricted_picklist=True, default=CORPORATE_CURRENCY)


def _money(name: str, label: str, **kwargs: object) -> FieldSpec:
    return FieldSpec(name, "currency", label, precision=18, scale=2, **kwargs)  # type: ignore[arg-type]


ACCOUNT = ObjectSchema(
    name="Account",
    label="Account",
    key_prefix="001",
    fields=(
        *_system_fields("Account"),
        FieldSpec("Name", "string", "Account Name", length=255, nillable=False),
        FieldSpec("Type", "picklist", "Account Type", length=255,
                  picklist_values=("Prospect", "Customer", "Partner", "Other")),
        # The billing address components and Phone, with Salesforce's lengths (Street is a textarea).
        FieldSpec("BillingStreet", "textarea", "Billing Street", length=255),
        FieldSpec("BillingCity", "string", "Billing City", length=40),
        FieldSpec("BillingState", "string", "Billing State/Province", length=80),
        FieldSpec("BillingPostalCode", "string", "Billing Zip/Postal Code", length=20),
        FieldSpec("BillingCountry", "string", "Billing Country", length=80),
        FieldSpec("Phone", "phone", "Account Phone", length=40),
        FieldSpec("Website", "url", "Website", length=255),
        FieldSpec("NumberOfEmployees", "int", "Employees", precision=8),
        # Currency(18, 0), as Salesforce defines it: whole units, up to 18 digits (beyond a float's 15-17).
        FieldSpec("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        _currency("Account Currency"),
        FieldSpec("Stripe_Customer_Id__c", "string", "Stripe Customer Id", length=255,
                  external_id=True, unique=True, case_sensitive=True),
        # Billing fields Concord owns (Stripe is their master): the customer's current subscription.
        FieldSpec("Stripe_Subscription_Status__c", "picklist", "Stripe Subscription Status", length=255,
                  picklist_values=SUBSCRIPTION_STATUSES),
        FieldSpec("Stripe_Plan__c", "string", "Stripe Plan", length=255),
        FieldSpec("Stripe_Billing_Interval__c", "string", "Stripe Billing Interval", length=40),
        # Scale 3, so three-decimal currencies (KWD) keep their fils.
        FieldSpec("Stripe_Billing_Amount__c", "currency", "Stripe Billing Amount", precision=18, scale=3),
        FieldSpec("Stripe_Next_Renewal_Date__c", "date", "Stripe Next Renewal Date"),
        *_audit_fields(),
    ),
)

CONTACT = ObjectSchema(
    name="Contact",
    label="Contact",
    key_prefix="003",
    fields=(
        *_system_fields("Contact"),
        FieldSpec("AccountId", "reference", "Account ID", length=18, case_sensitive=True,
                  reference_to="Account", relationship_name="Account"),
        FieldSpec("FirstName", "string", "First Name", length=40),
        FieldSpec("LastName", "string", "Last Name", length=80, nillable=False),
        FieldSpec("Name", "string", "Full Name", length=121, calculated=True, **_READ_ONLY),
        FieldSpec("Email", "email", "Email", length=80),
        FieldSpec("Phone", "phone", "Business Phone", length=40),
        FieldSpec("Title", "string", "Title", length=128),
        _currency("Contact Currency"),
        *_audit_fields(),
    ),
)

PRICEBOOK2 = ObjectSchema(
    name="Pricebook2",
    label="Price Book",
    key_prefix="01s",
    fields=(
        *_system_fields("Price Book"),
        FieldSpec("Name", "string", "Price Book Name", length=255, nillable=False),
        FieldSpec("IsActive", "boolean", "Active", nillable=False, default=False),
        FieldSpec("IsStandard", "boolean", "Is Standard Price Book", **_READ_ONLY),
        FieldSpec("Description", "textarea", "Description", length=255),
        # The price books Concord keeps (one per Stripe billing interval), found again by this key.
        FieldSpec("Concord_Key__c", "string", "Concord Key", length=80, external_id=True, unique=True,
                  case_sensitive=True),
        *_audit_fields(),
    ),
)

OPPORTUNITY = ObjectSchema(
    name="Opportunity",
    label="Opportunity",
    key_prefix="006",
    label_plural="Opportunities",
    fields=(
        *_system_fields("Opportunity"),
        FieldSpec("AccountId", "reference", "Account ID", length=18, case_sensitive=True,
                  reference_to="Account", relationship_name="Account"),
        FieldSpec("Name", "string", "Name", length=120, nillable=False),
        FieldSpec("StageName", "picklist", "Stage", length=255, nillable=False,
                  picklist_values=tuple(stage[0] for stage in OPPORTUNITY_STAGES)),
        _money("Amount", "Amount"),
        FieldSpec("Probability", "percent", "Probability (%)", precision=3),
        FieldSpec("CloseDate", "date", "Close Date", nillable=False),
        FieldSpec("Type", "picklist", "Opportunity Type", length=255,
                  picklist_values=("Existing Customer - Upgrade", "Existing Customer - Replacement",
                                   "Existing Customer - Downgrade", "New Customer")),
        FieldSpec("IsClosed", "boolean", "Closed", calculated=True, **_READ_ONLY),
        FieldSpec("IsWon", "boolean", "Won", calculated=True, **_READ_ONLY),
        FieldSpec("Pricebook2Id", "reference", "Price Book ID", length=18, case_sensitive=True,
                  reference_to="Pricebook2", relationship_name="Pricebook2"),
        _currency("Opportunity Currency"),
        FieldSpec("Description", "textarea", "Description", length=32000),
        *_audit_fields(),
    ),
)

PRODUCT2 = ObjectSchema(
    name="Product2",
    label="Product",
    key_prefix="01t",
    fields=(
        *_system_fields("Product"),
        FieldSpec("Name", "string", "Product Name", length=255, nillable=False),
        FieldSpec("ProductCode", "string", "Product Code", length=255),
        FieldSpec("Description", "textarea", "Product Description", length=4000),
        FieldSpec("IsActive", "boolean", "Active", nillable=False, default=False),
        FieldSpec("Family", "picklist", "Product Family", length=255, picklist_values=("None", "Subscription",
                                                                                         "Service", "Usage")),
        FieldSpec("QuantityUnitOfMeasure", "picklist", "Quantity Unit Of Measure", length=255,
                  picklist_values=("Each",)),
        FieldSpec("Stripe_Product_Id__c", "string", "Stripe Product Id", length=255,
                  external_id=True, unique=True, case_sensitive=True),
        _currency("Product Currency"),
        *_audit_fields(),
    ),
)

PRICEBOOK_ENTRY = ObjectSchema(
    name="PricebookEntry",
    label="Price Book Entry",
    key_prefix="01u",
    label_plural="Price Book Entries",
    fields=(
        *_system_fields("Price Book Entry"),
        FieldSpec("Name", "string", "Product Name", length=255, calculated=True, **_READ_ONLY),
        FieldSpec("Pricebook2Id", "reference", "Price Book ID", length=18, case_sensitive=True, nillable=False,
                  updateable=False, reference_to="Pricebook2", relationship_name="Pricebook2"),
        FieldSpec("Product2Id", "reference", "Product ID", length=18, case_sensitive=True, nillable=False,
                  updateable=False, reference_to="Product2", relationship_name="Product2"),
        _money("UnitPrice", "List Price", nillable=False),
        FieldSpec("IsActive", "boolean", "Active", nillable=False, default=False),
        FieldSpec("UseStandardPrice", "boolean", "Use Standard Price", nillable=False, default=False),
        FieldSpec("ProductCode", "string", "Product Code", length=255, calculated=True, **_READ_ONLY),
        FieldSpec("Stripe_Price_Id__c", "string", "Stripe Price Id", length=255,
                  external_id=True, unique=True, case_sensitive=True),
        _currency("Price Book Entry Currency", updateable=False),
        *_audit_fields(),
    ),
)

SCHEMAS: dict[str, ObjectSchema] = {
    schema.name.lower(): schema
    for schema in (ACCOUNT, CONTACT, OPPORTUNITY, PRODUCT2, PRICEBOOK2, PRICEBOOK_ENTRY)
}
SCHEMA_BY_PREFIX: dict[str, ObjectSchema] = {schema.key_prefix: schema for schema in SCHEMAS.values()}


def schema_named(name: str) -> ObjectSchema | None:
    return SCHEMAS.get(name.lower())


def schema_of_id(record_id: str) -> ObjectSchema | None:
    """The sObject an Id belongs to, from its 3-character key prefix."""
    return SCHEMA_BY_PREFIX.get(record_id[:3])
