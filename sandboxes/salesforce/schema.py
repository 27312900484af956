"""The sObjects the sandbox serves and their fields, as a real org's describe call reports them.

Field names are case-insensitive in SOQL and in REST bodies; `ObjectSchema.field` resolves any
spelling to the canonical one, which is what responses always use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_TYPES = frozenset({"id", "string", "picklist", "url", "textarea", "reference", "email", "phone"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})

# The org's active currencies (multi-currency enabled); CurrencyIsoCode is a restricted picklist.
ACTIVE_CURRENCIES = (
    "USD", "EUR", "GBP", "JPY", "KWD", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "SGD", "INR",
    "BRL", "MXN", "NZD", "HKD", "ZAR", "AED", "BHD", "JOD", "OMR", "TND", "KRW", "ISK",
)
CORPORATE_CURRENCY = "USD"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # Salesforce field type: id, string, picklist, url, datetime, boolean, int...
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False  # a value outside picklist_values is refused on write

    def describe(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "idLookup": self.name == "Id" or self.external_id,
            "custom": self.name.endswith("__c"),
            "filterable": True,
            "sortable": self.type != "textarea",
            "restrictedPicklist": self.restricted_picklist,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "value": value}
                for value in self.picklist_values
            ],
        }


@dataclass(frozen=True)
class ObjectSchema:
    name: str
    label: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]
    _by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({spec.name.lower(): spec for spec in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self._by_lower.get(name.lower())

    def describe(self, api_version: str) -> dict:
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "fields": [spec.describe() for spec in self.fields],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }


_READ_ONLY = {"createable": False, "updateable": False, "nillable": False}

ACCOUNT = ObjectSchema(
    name="Account",
    label="Account",
    key_prefix="001",
    fields=(
        FieldSpec("Id", "id", "Account ID", length=18, case_sensitive=True, **_READ_ONLY),
        FieldSpec("IsDeleted", "boolean", "Deleted", **_READ_ONLY),
        FieldSpec("Name", "string", "Account Name", length=255, nillable=False),
        FieldSpec("Type", "picklist", "Account Type", length=255,
                  picklist_values=("Prospect", "Customer", "Partner", "Other")),
        FieldSpec("BillingCountry", "string", "Billing Country", length=80),
        FieldSpec("Website", "url", "Website", length=255),
        FieldSpec("NumberOfEmployees", "int", "Employees"),
        FieldSpec("CurrencyIsoCode", "picklist", "Account Currency", length=3, nillable=False,
                  picklist_values=ACTIVE_CURRENCIES, restricted_picklist=True),
        FieldSpec("Stripe_Customer_Id__c", "string", "Stripe Customer Id", length=255,
                  external_id=True, unique=True, case_sensitive=True),
        FieldSpec("CreatedDate", "datetime", "Created Date", **_READ_ONLY),
        FieldSpec("LastModifiedDate", "datetime", "Last Modified Date", **_READ_ONLY),
        FieldSpec("SystemModstamp", "datetime", "System Modstamp", **_READ_ONLY),
    ),
)

SCHEMAS = {schema.name.lower(): schema for schema in (ACCOUNT,)}
