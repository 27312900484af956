"""The SOQL subset the Salesforce sandbox answers: lexer, parser, and binding/evaluation over rows."""

from sandboxes.salesforce.soql.evaluate import (
    SALESFORCE_DATETIME,
    BoundQuery,
    FieldPath,
    compile_query,
    record_attributes,
)
from sandboxes.salesforce.soql.lexer import SoqlError, StringLiteral, tokenize
from sandboxes.salesforce.soql.parser import And, Comparison, Not, Or, Query, parse

__all__ = [
    "SALESFORCE_DATETIME",
    "And",
    "BoundQuery",
    "Comparison",
    "FieldPath",
    "Not",
    "Or",
    "Query",
    "SoqlError",
    "StringLiteral",
    "compile_query",
    "parse",
    "record_attributes",
    "tokenize",
]
