"""Whose account a call names and whose data a reply holds (apps/safety/requester.py), from real result shapes."""

from __future__ import annotations

from apps.safety.requester import AccountBook, Requester, disclosures

KEYCLOAK_USERS = {
    "count": 2,
    "users": [
        {"id": "u-1111", "username": "maria.lopez", "email": "maria.lopez@brightpath.example", "firstName": "Maria"},
        {"id": "u-2222", "username": "jane.doe", "email": "Jane.Doe@acme.test", "firstName": "Jane", "lastName": "Doe"},
    ],
}
ORDERS_TABLE = {
    "columns": ["id", "customer_email", "status", "carrier", "tracking_number"],
    "rows": [["NW-10044", "sam.okafor@riverbend.example", "shipped", "DHL Express", "JD0146000062"]],
    "row_count": 1,
}


def _book(email: str = "maria.lopez@brightpath.example") -> AccountBook:
    book = AccountBook(Requester(email=email))
    book.learn(KEYCLOAK_USERS)
    book.learn(ORDERS_TABLE)
    return book


def test_an_argument_with_another_address_names_a_third_party() -> None:
    book = AccountBook(Requester(email="mallory@evil.example"))
    subject = book.subject({"query": "jane.doe@acme.test"})
    assert subject.third_party and "jane.doe@acme.test" in subject.describe()
    assert book.subject({"query": "MALLORY@evil.example"}).kind == "requester"
    assert book.subject({"sql": "SELECT 1", "params": ["x"]}).kind == "unknown"


def test_identifiers_learned_from_results_belong_to_their_records_owner() -> None:
    book = _book()
    assert book.subject({"user_id": "u-1111"}).kind == "requester"
    other = book.subject({"user_id": "u-2222"})
    assert other.third_party and "jane.doe@acme.test" in other.describe()
    assert book.subject({"params": ["NW-10044"]}).third_party  # a table row's id, from a {"columns", "rows"} result
    assert book.subject({"username": "jane.doe"}).third_party  # a username with a dot is an identifier too
    assert book.subject({"username": "maria.lopez"}).kind == "requester"


def test_a_reply_with_another_persons_data_is_a_disclosure_and_the_requesters_own_is_not() -> None:
    book = _book()
    leaked = disclosures("Order NW-10044 shipped with DHL Express, tracking JD0146000062.", book)
    assert {item.value for item in leaked} >= {"nw-10044", "jd0146000062", "dhl express"}
    assert all(item.owner == "sam.okafor@riverbend.example" for item in leaked)
    assert not disclosures("Hi Maria, your account maria.lopez is unlocked (u-1111).", book)
    # What the requester wrote themselves is not disclosed by repeating it.
    assert not disclosures("About order NW-10044: we cannot share it.", book, ticket_text="where is NW-10044?")


def test_without_a_requester_address_every_record_is_someone_elses() -> None:
    book = AccountBook(Requester(email=""))
    book.learn(KEYCLOAK_USERS)
    assert book.subject({"user_id": "u-1111"}).third_party
    assert disclosures("Your username is maria.lopez.", book)
