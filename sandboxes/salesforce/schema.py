"""Field and object descriptions, as a real org's describe call reports them.

Field names are case-insensitive in SOQL and in REST bodies; `ObjectSchema.field` resolves any
spelling to the canonical one, which is what responses always use. The objects themselves are
defined in `sobjects.py`.
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
    type: str  # Salesforce field type: id, string, picklist, url, datetime, date, boolean, int, reference...
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
    default: object = None  # what the org fills in when a create leaves the field out
    reference_to: str | None = None  # for reference fields: the parent sObject
    relationship_name: str | None = None  # AccountId -> Account, used in SOQL as Account.Name
    calculated: bool = False  # derived by the org (Opportunity.IsWon, Contact.Name)
    precision: int = 0
    scale: int = 0

    @property
    def required(self) -> bool:
        """A create must supply it: not nillable, writable and without a default."""
        return not self.nillable and self.createable and self.default is None and self.type != "boolean"

    def describe(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or self.type == "boolean" or self.name == "Id",
            "calculated": self.calculated,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "idLookup": self.name == "Id" or self.external_id,
            "custom": self.name.endswith("__c"),
            "filterable": True,
            "sortable": self.type != "textarea",
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name,
            "restrictedPicklist": self.restricted_picklist,
            "picklistValues": [
                {"active": True, "defaultValue": value == self.default, "label": value, "value": value}
                for value in self.picklist_values
            ],
        }


@dataclass(frozen=True)
class ObjectSchema:
    name: str
    label: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]
    label_plural: str = ""
    _by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)
    _by_relationship: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({spec.name.lower(): spec for spec in self.fields})
        self._by_relationship.update({
            spec.relationship_name.lower(): spec for spec in self.fields if spec.relationship_name
        })

    def field(self, name: str) -> FieldSpec | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The reference field behind a parent relationship name (Account -> AccountId)."""
        return self._by_relationship.get(name.lower())

    @property
    def external_id_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.external_id)

    def describe(self, api_version: str) -> dict:
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural or self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "undeletable": True,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "fields": [spec.describe() for spec in self.fields],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }

    def summary(self, api_version: str) -> dict:
        """The entry GET /sobjects lists for this object (describeGlobal)."""
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name, "label": self.label, "labelPlural": self.label_plural or self.label + "s",
            "keyPrefix": self.key_prefix, "custom": False, "queryable": True, "createable": True,
            "updateable": True, "deletable": True, "replicateable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }
