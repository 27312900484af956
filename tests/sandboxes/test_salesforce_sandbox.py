"""The Salesforce sandbox: its SOQL subset (pure unit tests) and its REST API over real HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from simple_salesforce import format_soql

from sandboxes.salesforce.ids import checksum, make_id
from sandboxes.salesforce.sobjects import SCHEMAS
from sandboxes.salesforce.soql import SoqlError, compile_query, tokenize

API = "/services/data/v59.0"

ROWS = [
    {"Id": "001A", "Name": "Alpha", "Type": "Customer", "NumberOfEmployees": 10, "IsDeleted": False,
     "BillingCountry": "Germany", "CreatedDate": "2026-01-01T00:00:00.000+0000"},
    {"Id": "001B", "Name": "beta 100%", "Type": "Prospect", "NumberOfEmployees": 50, "IsDeleted": False,
     "BillingCountry": None, "CreatedDate": "2026-01-02T00:00:00.000+0000"},
    {"Id": "001C", "Name": "Gamma_1", "Type": None, "NumberOfEmployees": None, "IsDeleted": False,
     "BillingCountry": "Japan", "CreatedDate": "2026-01-03T12:30:00.000+0000"},
]


def run(soql: str) -> list[str]:
    """Ids of ROWS matching `soql`, in result order."""
    bound = compile_query(soql, SCHEMAS)
    return [row["Id"] for row in bound.run(ROWS)]


def error_of(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        compile_query(soql, SCHEMAS)
    return caught.value


# -- SOQL: lexing and escapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ['O\'Brien \\ "x"', "tab\there", "line\nbreak\r\n", "back\\\\slashes\\", "100% _done_", "Zoë 株式会社"],
)
def test_string_literal_escapes_round_trip_through_format_soql(text):
    """Input: awkward names quoted by simple_salesforce.format_soql; the lexer must decode them exactly."""
    tokens = tokenize(format_soql("SELECT Id FROM Account WHERE Name = {}", text))
    literal = [token for token in tokens if token.kind == "string"][0]
    assert literal.value.text == text


def test_illegal_escape_sequence_is_a_malformed_query():
    """Input: the string literal 'a\\qb' (\\q is no SOQL escape)."""
    error = error_of(r"SELECT Id FROM Account WHERE Name = 'a\qb'")
    assert error.error_code == "MALFORMED_QUERY"
    assert "Illegal escape sequence" in error.message


def test_unterminated_string_is_a_malformed_query():
    """Input: a WHERE clause whose string literal never closes."""
    assert error_of("SELECT Id FROM Account WHERE Name = 'abc").error_code == "MALFORMED_QUERY"


# -- SOQL: logic -----------------------------------------------------------------------------------


def test_mixing_and_with_or_without_parentheses_is_refused_like_salesforce():
    """Input: `a AND b OR c`; Salesforce answers MALFORMED_QUERY 'unexpected token: OR' at the OR."""
    soql = "SELECT Id FROM Account WHERE Name = 'Alpha' AND Type = 'Customer' OR Name = 'Gamma_1'"
    error = error_of(soql)
    assert error.error_code == "MALFORMED_QUERY"
    assert "unexpected token: 'OR'" in error.message
    assert f"Row:1:Column:{soql.index(' OR ') + 2}" in error.message


def test_parentheses_decide_the_grouping():
    """Input: the same three terms grouped two ways; the results must differ as boolean logic says."""
    left = run("SELECT Id FROM Account WHERE (Name = 'Alpha' AND Type = 'Prospect') OR Name = 'Gamma_1'")
    right = run("SELECT Id FROM Account WHERE Name = 'Alpha' AND (Type = 'Prospect' OR Name = 'Gamma_1')")
    assert left == ["001C"]
    assert right == []


def test_repeated_same_operator_needs_no_parentheses():
    """Input: three ORs and three ANDs in a row."""
    assert run("SELECT Id FROM Account WHERE Name = 'Alpha' OR Name = 'beta 100%' OR Name = 'x'") == ["001A", "001B"]
    assert run("SELECT Id FROM Account WHERE Name != 'x' AND Name != 'y' AND Name != 'Alpha'") == ["001B", "001C"]


def test_not_is_allowed_only_at_the_start_of_a_group():
    """Input: `NOT x`, `a AND (NOT b)` (valid) and `a AND NOT b` (refused by Salesforce)."""
    assert run("SELECT Id FROM Account WHERE NOT Name = 'Alpha'") == ["001B", "001C"]
    assert run("SELECT Id FROM Account WHERE NumberOfEmployees > 5 AND (NOT Type = 'Customer')") == ["001B"]
    assert error_of("SELECT Id FROM Account WHERE Name = 'x' AND NOT Type = 'y'").error_code == "MALFORMED_QUERY"


def test_in_and_not_in_with_null_semantics():
    """Input: IN with a null member, NOT IN; SOQL's != and NOT IN keep rows whose field is null."""
    assert run("SELECT Id FROM Account WHERE Type IN ('Customer', null)") == ["001A", "001C"]
    assert run("SELECT Id FROM Account WHERE Type NOT IN ('Customer')") == ["001B", "001C"]
    assert run("SELECT Id FROM Account WHERE Type != 'Customer'") == ["001B", "001C"]
    assert run("SELECT Id FROM Account WHERE BillingCountry = null") == ["001B"]


def test_like_wildcards_escapes_and_case():
    """Input: % and _ wildcards, an escaped \\% and \\_, and a lower-case pattern against 'Alpha'."""
    assert run("SELECT Id FROM Account WHERE Name LIKE 'al%'") == ["001A"]
    assert run("SELECT Id FROM Account WHERE Name LIKE 'Gamma__'") == ["001C"]
    assert run(r"SELECT Id FROM Account WHERE Name LIKE '%100\%'") == ["001B"]
    assert run(r"SELECT Id FROM Account WHERE Name LIKE '%a\_%'") == ["001C"]
    assert run(r"SELECT Id FROM Account WHERE Name LIKE 'Alph\_'") == []


def test_equality_on_text_ignores_case():
    """Input: Name = 'ALPHA' against a row named 'Alpha' (SOQL text comparison is case-insensitive)."""
    assert run("SELECT Id FROM Account WHERE Name = 'ALPHA'") == ["001A"]


def test_numbers_booleans_and_datetime_literals():
    """Input: numeric range, a boolean, and datetime literals in Z and offset forms."""
    assert run("SELECT Id FROM Account WHERE NumberOfEmployees >= 10 AND NumberOfEmployees < 50") == ["001A"]
    assert run("SELECT Id FROM Account WHERE IsDeleted = false") == ["001A", "001B", "001C"]
    assert run("SELECT Id FROM Account WHERE CreatedDate > 2026-01-02T00:00:00Z") == ["001C"]
    # 13:30+01:00 and 14:30+02:00 are both 12:30Z, exactly 001C's CreatedDate.
    assert run("SELECT Id FROM Account WHERE CreatedDate <= 2026-01-03T13:30:00+01:00") == ["001A", "001B", "001C"]
    assert run("SELECT Id FROM Account WHERE CreatedDate < 2026-01-03T14:30:00+02:00") == ["001A", "001B"]


def test_order_by_several_keys_nulls_limit_and_offset():
    """Input: ORDER BY with DESC NULLS LAST, a second key, and LIMIT/OFFSET."""
    assert run("SELECT Id FROM Account ORDER BY NumberOfEmployees DESC NULLS LAST") == ["001B", "001A", "001C"]
    assert run("SELECT Id FROM Account ORDER BY NumberOfEmployees") == ["001C", "001A", "001B"]
    assert run("SELECT Id FROM Account ORDER BY IsDeleted, Name DESC LIMIT 2 OFFSET 1") == ["001B", "001A"]


def test_schema_errors_carry_the_vendor_error_codes():
    """Input: an unknown column, an unknown sObject, a number compared to a text field, an offset over 2000."""
    assert error_of("SELECT Id, Nope__c FROM Account").error_code == "INVALID_FIELD"
    assert error_of("SELECT Id FROM Lead").error_code == "INVALID_TYPE"
    assert error_of("SELECT Id FROM Account WHERE Name = 5").error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert error_of("SELECT Id FROM Account OFFSET 2001").error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error_of("SELECT Id, id FROM Account").error_code == "MALFORMED_QUERY"  # duplicate field


def test_count_and_field_names_are_case_insensitive():
    """Input: SELECT COUNT() and lower-case field names; output uses the canonical names."""
    bound = compile_query("select name, numberofemployees from account where type = 'customer'", SCHEMAS)
    assert bound.fields == ("Name", "NumberOfEmployees")
    assert compile_query("SELECT COUNT() FROM Account", SCHEMAS).count_only


def test_record_ids_carry_salesforce_checksum():
    """Input: 001A000000BDyCf, whose upper-case positions give the suffix IAL; and a generated Id."""
    assert checksum("001A000000BDyCf") == "IAL"
    generated = make_id("001", 61)
    assert len(generated) == 18 and generated.startswith("001") and generated[15:] == checksum(generated[:15])


# -- REST API over HTTPS ---------------------------------------------------------------------------


@pytest.fixture
def api(sf_sandbox):
    """Calls the sandbox with the right token over verified TLS, after a reset to the seed state."""

    def call(method: str, path: str, token: str | None = sf_sandbox.access_token, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # verify per request: REQUESTS_CA_BUNDLE in the environment would override a Session's verify.
        return requests.request(method, sf_sandbox.base_url + path, headers=headers, verify=sf_sandbox.bundle,
                                timeout=10, **kwargs)

    assert call("POST", "/_sandbox/reset", token=None).status_code == 200
    return call


def test_credentials_name_the_instance_and_token(sf_sandbox):
    """Input: credentials() of a started sandbox."""
    creds = sf_sandbox.credentials()
    assert creds == {"SALESFORCE_INSTANCE_URL": sf_sandbox.base_url, "SALESFORCE_ACCESS_TOKEN": sf_sandbox.access_token}
    assert sf_sandbox.base_url.startswith("https://127.0.0.1:")


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_bad_or_missing_token_gets_invalid_session_id(api, token):
    """Input: a query with a wrong bearer token, and one with no Authorization header."""
    response = api("GET", f"{API}/query", token=token, params={"q": "SELECT Id FROM Account"})
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_versions_list_needs_no_auth(api):
    """Input: GET /services/data/ without a token, as clients do to discover versions."""
    response = api("GET", "/services/data/", token=None)
    assert response.status_code == 200
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in response.json()


def test_unknown_version_and_unknown_path_are_not_found(api):
    """Input: API version v12.0 and an unknown sObject path."""
    for path in ["/services/data/v12.0/query?q=SELECT+Id+FROM+Account", f"{API}/sobjects/Nope/describe"]:
        response = api("GET", path)
        assert response.status_code == 404
        assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_seeded_accounts_have_the_vendor_shape(api, seed):
    """Input: GET of the first seeded Account by Id; every documented field in Salesforce's format."""
    account = seed.accounts[0]
    record = api("GET", f"{API}/sobjects/Account/{account.salesforce_id}").json()
    assert record["attributes"] == {"type": "Account", "url": f"{API}/sobjects/Account/{account.salesforce_id}"}
    assert record["Id"] == account.salesforce_id and len(record["Id"]) == 18
    assert record["Name"] == account.name
    assert record["Stripe_Customer_Id__c"] == account.stripe_customer_id
    assert record["CurrencyIsoCode"] == account.currency.upper()
    assert record["Type"] == "Customer" and record["IsDeleted"] is False
    assert record["CreatedDate"] == "2026-01-01T00:00:00.000+0000" == record["SystemModstamp"]
    assert record["Website"].startswith("https://")


def test_query_returns_only_selected_fields_with_attributes(api, seed):
    """Input: SELECT Id, Name ... ORDER BY Name LIMIT 2 through /query/ (the SDK's trailing-slash form)."""
    body = api("GET", f"{API}/query/", params={"q": "SELECT Id, Name FROM Account ORDER BY Name LIMIT 2"}).json()
    assert body["done"] is True and body["totalSize"] == 2
    assert set(body["records"][0]) == {"attributes", "Id", "Name"}
    expected = sorted((account.name for account in seed.accounts), key=str.casefold)[:2]
    assert [record["Name"] for record in body["records"]] == expected


def test_count_query(api, seed):
    """Input: SELECT COUNT() FROM Account."""
    body = api("GET", f"{API}/query", params={"q": "SELECT COUNT() FROM Account"}).json()
    assert body == {"totalSize": len(seed.accounts), "done": True, "records": []}


def test_malformed_query_answers_400_with_vendor_body(api):
    """Input: 'SELEKT Id FROM Account'."""
    response = api("GET", f"{API}/query", params={"q": "SELEKT Id FROM Account"})
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "MALFORMED_QUERY" and "unexpected token" in error["message"]


def test_paging_follows_next_records_url_with_batch_size(api, seed):
    """Input: 450 planted rows read with Sforce-Query-Options batchSize=200: pages of 200, 200, 62."""
    planted = [{"Name": f"Bulk {index:03d}", "CurrencyIsoCode": "USD"} for index in range(450)]
    assert api("POST", "/_sandbox/accounts", token=None, json=planted).status_code == 201
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = api("GET", f"{API}/query", params={"q": "SELECT Id FROM Account"}, headers=headers).json()
    sizes, ids = [len(page["records"])], [record["Id"] for record in page["records"]]
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith(f"{API}/query/01g")
        page = api("GET", page["nextRecordsUrl"]).json()
        sizes.append(len(page["records"]))
        ids += [record["Id"] for record in page["records"]]
    assert sizes == [200, 200, 62]
    assert page["totalSize"] == 462 and len(set(ids)) == 462


def test_batch_size_below_minimum_is_raised_to_200(api):
    """Input: batchSize=5 over 250 rows; Salesforce never pages by fewer than 200."""
    api("POST", "/_sandbox/accounts", token=None, json=[{"Name": f"Row {index}"} for index in range(250)])
    page = api("GET", f"{API}/query", params={"q": "SELECT Id FROM Account"},
               headers={"Sforce-Query-Options": "batchSize=5"}).json()
    assert len(page["records"]) == 200 and page["done"] is False


def test_unknown_query_locator_is_refused(api):
    """Input: GET of a next-records URL that no query produced."""
    response = api("GET", f"{API}/query/01g5g0000000999AAA-200")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_upsert_by_external_id_creates_then_updates(api):
    """Input: the same upsert PATCH twice for cus_TEST1, with a new Name the second time."""
    path = f"{API}/sobjects/Account/Stripe_Customer_Id__c/cus_TEST1"
    first = api("PATCH", path, json={"Name": "Upsert Co", "CurrencyIsoCode": "GBP"})
    assert first.status_code == 201
    assert first.json()["created"] is True and first.json()["success"] is True and first.json()["errors"] == []
    second = api("PATCH", path, json={"Name": "Upsert Co Renamed"})
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": False}
    found = api("GET", f"{API}/query", params={"q": "SELECT Name, CurrencyIsoCode FROM Account "
                                                     "WHERE Stripe_Customer_Id__c = 'cus_TEST1'"}).json()
    assert [(r["Name"], r["CurrencyIsoCode"]) for r in found["records"]] == [("Upsert Co Renamed", "GBP")]
    log = api("GET", "/_sandbox/requests", token=None).json()
    assert [entry["idempotency_key"] for entry in log if entry["method"] == "PATCH"] == [
        "Stripe_Customer_Id__c/cus_TEST1"] * 2


def test_upsert_with_duplicates_answers_300_with_record_urls(api):
    """Input: two planted rows sharing an external id (the control API skips the unique check), then an upsert."""
    ids = api("POST", "/_sandbox/accounts", token=None,
              json=[{"Name": "Dup A", "Stripe_Customer_Id__c": "cus_DUP"},
                    {"Name": "Dup B", "Stripe_Customer_Id__c": "cus_DUP"}]).json()["ids"]
    response = api("PATCH", f"{API}/sobjects/Account/Stripe_Customer_Id__c/cus_DUP", json={"Name": "X"})
    assert response.status_code == 300
    assert response.json() == [f"{API}/sobjects/Account/{record_id}" for record_id in ids]


def test_upsert_on_unknown_field_is_not_found(api):
    """Input: upsert keyed by a field that does not exist (and one that is not an external id)."""
    for field in ("Nope__c", "Name"):
        response = api("PATCH", f"{API}/sobjects/Account/{field}/x", json={"Name": "X"})
        assert response.status_code == 404
        assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_create_update_and_validation_errors(api, seed):
    """Input: a create, an update, then bodies that break each rule a real org enforces."""
    created = api("POST", f"{API}/sobjects/Account", json={"Name": "Fresh", "Stripe_Customer_Id__c": "cus_F"})
    assert created.status_code == 201
    record_id = created.json()["id"]
    assert record_id[15:] == checksum(record_id[:15])
    before = api("GET", f"{API}/sobjects/Account/{record_id}").json()
    assert before["CurrencyIsoCode"] == "USD"  # the corporate currency by default
    assert api("PATCH", f"{API}/sobjects/Account/{record_id}", json={"Name": "Fresher"}).status_code == 204
    after = api("GET", f"{API}/sobjects/Account/{record_id}").json()
    assert after["Name"] == "Fresher" and after["SystemModstamp"] > before["SystemModstamp"]

    cases = [
        ({"Name": "Dup", "Stripe_Customer_Id__c": seed.accounts[0].stripe_customer_id}, "DUPLICATE_VALUE"),
        ({"CurrencyIsoCode": "EUR"}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "X", "CreatedDate": "2020-01-01T00:00:00.000+0000"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Name": "X", "Bogus__c": 1}, "INVALID_FIELD"),
        ({"Name": "X", "CurrencyIsoCode": "usd"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Name": "X" * 256}, "STRING_TOO_LONG"),
        ({"Name": "X", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
    ]
    for body, code in cases:
        response = api("POST", f"{API}/sobjects/Account", json=body)
        assert response.status_code == 400, body
        assert response.json()[0]["errorCode"] == code, body


def test_delete_hides_from_query_but_not_from_query_all(api, seed):
    """Input: DELETE of a seeded Account, then the same COUNT() through /query and /queryAll."""
    record_id = seed.accounts[1].salesforce_id
    assert api("DELETE", f"{API}/sobjects/Account/{record_id}").status_code == 204
    soql = format_soql("SELECT Id, IsDeleted FROM Account WHERE Id = {}", record_id)
    assert api("GET", f"{API}/query", params={"q": soql}).json()["records"] == []
    [row] = api("GET", f"{API}/queryAll", params={"q": soql}).json()["records"]
    assert row["IsDeleted"] is True
    assert api("GET", f"{API}/sobjects/Account/{record_id}").json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_describe_marks_the_stripe_id_as_unique_external_id(api):
    """Input: GET /sobjects/Account/describe."""
    fields = {field["name"]: field for field in api("GET", f"{API}/sobjects/Account/describe").json()["fields"]}
    assert fields["Stripe_Customer_Id__c"]["externalId"] is True
    assert fields["Stripe_Customer_Id__c"]["unique"] is True
    assert fields["Name"]["type"] == "string" and fields["CreatedDate"]["type"] == "datetime"


def test_request_log_and_reset(api, seed):
    """Input: one query and one create, then the log, then a reset."""
    batch = {"Sforce-Query-Options": "batchSize=300"}
    api("GET", f"{API}/query", params={"q": "SELECT Id FROM Account"}, headers=batch)
    api("POST", f"{API}/sobjects/Account", json={"Name": "Logged"})
    log = api("GET", "/_sandbox/requests", token=None).json()
    assert log[0] == {"method": "GET", "path": f"{API}/query", "query": {"q": "SELECT Id FROM Account"},
                      "idempotency_key": None, "batch_size": 300, "status": 200}
    assert (log[1]["method"], log[1]["status"]) == ("POST", 201)
    api("POST", "/_sandbox/reset", token=None)
    assert api("GET", "/_sandbox/requests", token=None).json() == []
    assert len(api("GET", "/_sandbox/accounts", token=None).json()) == len(seed.accounts)


def test_writes_stamp_times_after_the_seed(api, seed):
    """Input: a create right after reset; its CreatedDate must sort after every seeded SystemModstamp."""
    record_id = api("POST", f"{API}/sobjects/Account", json={"Name": "Later"}).json()["id"]
    stamp = api("GET", f"{API}/sobjects/Account/{record_id}").json()["CreatedDate"]
    latest_seed = max(datetime.fromtimestamp(account.created, UTC) for account in seed.accounts)
    assert datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z") > latest_seed
