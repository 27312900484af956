"""The SOQL subset the Salesforce sandbox answers: lexer, parser, and binding/evaluation over rows."""

from sandboxes.salesforce.soql.evaluate import SALESFORCE_DATETIME, BoundQuery, compile_query
from sandboxes.salesforce.soql.lexer import SoqlError, StringLiteral, tokenize
from sandboxes.salesforce.soql.parser import And, Comparison, Not, Or, Query, parse

__all__ = [
    "SALESFORCE_DATETIME",
    "And",
    "BoundQuery",
    "Comparison",
    "Not",
    "Or",
    "Query",
    "SoqlError",
    "StringLiteral",
    "compile_query",
    "parse",
    "tokenize",
]
