"""The ConnectWise PSA (Manage) stand-in's demo data: one MSP's Manage with three client companies.

Shapes follow ConnectWise's REST API 3.0: references are small objects (``{"id": 1, "name": "..."}``), record
times live in ``_info`` (``dateEntered``, ``lastUpdated``), a ticket's description is its first note with
``detailDescriptionFlag``, and a contact's email is one of its ``communicationItems``. Statuses belong to a
service board (``/service/boards/{id}/statuses``); priorities are global. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import Any

BOARDS = [{"id": 1, "name": "Help Desk"}]
STATUSES = [
    {"id": 16, "name": "New", "boardId": 1, "closedStatus": False},
    {"id": 17, "name": "In Progress", "boardId": 1, "closedStatus": False},
    {"id": 18, "name": "Waiting on Client", "boardId": 1, "closedStatus": False},
    {"id": 19, "name": "On Hold", "boardId": 1, "closedStatus": False},
    {"id": 20, "name": "Completed", "boardId": 1, "closedStatus": True},
    {"id": 21, "name": "Closed", "boardId": 1, "closedStatus": True},
]
PRIORITIES = [
    {"id": 1, "name": "Priority 1 - Critical"},
    {"id": 2, "name": "Priority 2 - High"},
    {"id": 3, "name": "Priority 3 - Medium"},
    {"id": 4, "name": "Priority 4 - Low"},
]
WORK_TYPES = [{"id": 1, "name": "Remote Support"}, {"id": 2, "name": "Onsite"}, {"id": 3, "name": "Admin"}]


DEMO_SEED: dict[str, Any] = {
    "company_id": "northwind",  # the login company of the Manage site (the "company" of companyId+publicKey)
    "api_members": {"pubkey-gaby": "privkey-gaby"},  # an API member's public key -> private key
    "client_ids": ["6a1f5b7e-3c0d-4f59-9d8e-1b2c3d4e5f60"],  # clientIds registered on developer.connectwise.com
    "companies": [
        {"id": 250, "identifier": "HartwellDental", "name": "Hartwell Dental", "deletedFlag": False},
        {"id": 251, "identifier": "DearbornLaw", "name": "Dearborn Law", "deletedFlag": False},
        {"id": 252, "identifier": "AshbyBakery", "name": "Ashby Bakery", "deletedFlag": False},
    ],
    "contacts": [
        {"id": 601, "firstName": "Nora", "lastName": "Payroll", "company_id": 250, "email": "nora@hartwell.example"},
        {"id": 602, "firstName": "Sam", "lastName": "Desk", "company_id": 250, "email": "sam@hartwell.example"},
        {"id": 701, "firstName": "Dana", "lastName": "Clerk", "company_id": 251, "email": "dana@dearborn.example"},
        {"id": 801, "firstName": "Ash", "lastName": "Baker", "company_id": 252, "email": "ash@ashby.example"},
    ],
    "members": [
        {"id": 150, "identifier": "gaby", "firstName": "Gaby", "lastName": "API", "officeEmail": "gaby@nw.example"},
        {"id": 151, "identifier": "priya", "firstName": "Priya", "lastName": "Tech", "officeEmail": "priya@nw.example"},
    ],
    "api_member_identifier": "gaby",  # who the API keys belong to: notes and time written through the API are theirs
    "tickets": [
        {
            "id": 5101,
            "summary": "Payslips print blank",
            "company_id": 250,
            "contact_id": 601,
            "status_id": 16,
            "priority_id": 2,
            "owner_id": 0,
            "dateEntered": "2026-11-16T09:00:00Z",
            "lastUpdated": "2026-11-16T09:05:00Z",
            "notes": [
                {
                    "id": 80001,
                    "text": "Payslips come out blank on the HP LaserJet in accounting.",
                    "detailDescriptionFlag": True,
                    "contact_id": 601,
                    "dateCreated": "2026-11-16T09:00:00Z",
                },
                {
                    "id": 80002,
                    "text": "Which printer model is it?",
                    "detailDescriptionFlag": True,
                    "member_id": 151,
                    "dateCreated": "2026-11-16T09:05:00Z",
                },
            ],
        },
        {
            "id": 5102,
            "summary": "Cannot reach the imaging server",
            "company_id": 250,
            "contact_id": 602,
            "status_id": 17,
            "priority_id": 1,
            "owner_id": 151,
            "dateEntered": "2026-11-16T10:00:00Z",
            "lastUpdated": "2026-11-16T10:30:00Z",
            "notes": [
                {
                    "id": 80003,
                    "text": "The X-ray viewer says the imaging server is offline since this morning.",
                    "detailDescriptionFlag": True,
                    "contact_id": 602,
                    "dateCreated": "2026-11-16T10:00:00Z",
                },
                {
                    "id": 80004,
                    "text": "Switch port 14 flapping, checked remotely.",
                    "internalAnalysisFlag": True,
                    "member_id": 151,
                    "dateCreated": "2026-11-16T10:30:00Z",
                },
            ],
        },
        {
            "id": 6101,
            "summary": "Shared drive asks for a password",
            "company_id": 251,
            "contact_id": 701,
            "status_id": 16,
            "priority_id": 3,
            "owner_id": 0,
            "dateEntered": "2026-11-16T11:00:00Z",
            "lastUpdated": "2026-11-16T11:00:00Z",
            "notes": [
                {
                    "id": 80005,
                    "text": "The case files share prompts for credentials on every laptop.",
                    "detailDescriptionFlag": True,
                    "contact_id": 701,
                    "dateCreated": "2026-11-16T11:00:00Z",
                }
            ],
        },
        {
            "id": 7101,
            "summary": "Till receipt printer jams",
            "company_id": 252,
            "contact_id": 801,
            "status_id": 16,
            "priority_id": 4,
            "owner_id": 0,
            "dateEntered": "2026-11-16T12:00:00Z",
            "lastUpdated": "2026-11-16T12:00:00Z",
            "notes": [],
        },
    ],
}
