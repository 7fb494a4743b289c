"""The Autotask PSA stand-in's demo data: one MSP's Autotask database with three client companies.

Shapes follow Autotask's REST API v1.0: flat records whose references are ids (``companyID``, ``contactID``,
``assignedResourceID``), picklist fields stored as their integer values and labelled by the entity's
``entityInformation/fields`` (each database can rename or add values, so Gaby reads labels, never assumes the
numbers), dates as ISO 8601 in UTC with milliseconds. A ticket's description is a field of the ticket; its thread
is its ``TicketNotes``. Resources are the MSP's staff (the API user is one of them).
"""

from __future__ import annotations

from typing import Any

# Picklists as entityInformation/fields lists them: value (a string of the integer stored on the record) → label.
PICKLISTS: dict[str, dict[str, dict[str, str]]] = {
    "Tickets": {
        "status": {"1": "New", "5": "Complete", "7": "Waiting Customer", "8": "In Progress", "9": "Waiting Materials",
                   "12": "Waiting Vendor", "13": "On Hold"},
        "priority": {"4": "Critical", "1": "High", "2": "Medium", "3": "Low"},
    },
    "TicketNotes": {
        "noteType": {"1": "Task Summary", "2": "Task Detail", "3": "Task Notes"},
        "publish": {"1": "All Autotask Users", "2": "Internal Only"},
    },
    # The ticket fields a webhook can watch, by their internal field ids (TicketWebhookFields.fieldID).
    "TicketWebhookFields": {
        "fieldID": {"2": "title", "3": "description", "5": "status", "6": "priority", "9": "companyID",
                    "12": "assignedResourceID", "23": "lastActivityDate", "31": "dueDateTime"},
    },
}  # fmt: skip
ROLES = [{"id": 29682833, "name": "Helpdesk L1"}, {"id": 29682834, "name": "Engineer L2"}]
BILLING_CODES = [  # work types: billingCodeID of a time entry
    {"id": 29682801, "name": "Remote Support", "isActive": True},
    {"id": 29682802, "name": "Onsite Support", "isActive": True},
]

DEMO_SEED: dict[str, Any] = {
    "zone": "zone2",  # the path a zone's API lives under in the stand-in (webservices2.autotask.net in Autotask)
    "integration_codes": ["GABYTRACKINGIDENTIFIER01"],  # API tracking identifiers the vendor issued
    "api_users": {"gaby-api@northwind.example": "at-secret"},  # API-only users: userName -> secret
    "companies": [
        {"id": 0, "companyName": "Northwind IT (owner)", "isActive": True, "companyType": 5},
        {"id": 174, "companyName": "Hartwell Dental", "isActive": True, "companyType": 1},
        {"id": 175, "companyName": "Dearborn Law", "isActive": True, "companyType": 1},
        {"id": 176, "companyName": "Ashby Bakery", "isActive": True, "companyType": 1},
        {"id": 177, "companyName": "Old Mill Pharmacy", "isActive": False, "companyType": 1},
    ],
    "contacts": [
        {
            "id": 30001,
            "companyID": 174,
            "firstName": "Nora",
            "lastName": "Payroll",
            "emailAddress": "nora@hartwell.example",
        },
        {"id": 30002, "companyID": 174, "firstName": "Sam", "lastName": "Desk", "emailAddress": "sam@hartwell.example"},
        {
            "id": 30003,
            "companyID": 175,
            "firstName": "Dana",
            "lastName": "Clerk",
            "emailAddress": "dana@dearborn.example",
        },
        {"id": 30004, "companyID": 176, "firstName": "Ash", "lastName": "Baker", "emailAddress": "ash@ashby.example"},
    ],
    "resources": [
        {
            "id": 29682885,
            "firstName": "Gaby",
            "lastName": "API",
            "email": "gaby@northwind.example",
            "userName": "gaby-api@northwind.example",
            "isActive": True,
            "defaultServiceDeskRoleID": 29682833,
        },
        {
            "id": 29682886,
            "firstName": "Priya",
            "lastName": "Tech",
            "email": "priya@northwind.example",
            "userName": "priya",
            "isActive": True,
            "defaultServiceDeskRoleID": 29682834,
        },
    ],
    "tickets": [
        {
            "id": 7701,
            "ticketNumber": "T20261116.0001",
            "title": "Payslips print blank",
            "companyID": 174,
            "contactID": 30001,
            "status": 1,
            "priority": 1,
            "assignedResourceID": None,
            "description": "Payslips come out blank on the HP LaserJet in accounting.",
            "createDate": "2026-11-16T09:00:00.000Z",
            "lastActivityDate": "2026-11-16T09:05:00.000Z",
            "notes": [
                {
                    "id": 91001,
                    "title": "Question",
                    "description": "Which printer model is it?",
                    "noteType": 1,
                    "publish": 1,
                    "creatorResourceID": 29682886,
                    "createDateTime": "2026-11-16T09:05:00.000Z",
                },
            ],
        },
        {
            "id": 7702,
            "ticketNumber": "T20261116.0002",
            "title": "Cannot reach the imaging server",
            "companyID": 174,
            "contactID": 30002,
            "status": 8,
            "priority": 4,
            "assignedResourceID": 29682886,
            "assignedResourceRoleID": 29682834,
            "description": "The X-ray viewer says the imaging server is offline since this morning.",
            "createDate": "2026-11-16T10:00:00.000Z",
            "lastActivityDate": "2026-11-16T10:30:00.000Z",
            "notes": [
                {
                    "id": 91002,
                    "title": "Checked",
                    "description": "Switch port 14 flapping, checked remotely.",
                    "noteType": 3,
                    "publish": 2,
                    "creatorResourceID": 29682886,
                    "createDateTime": "2026-11-16T10:30:00.000Z",
                },
            ],
        },
        {
            "id": 7801,
            "ticketNumber": "T20261116.0003",
            "title": "Shared drive asks for a password",
            "companyID": 175,
            "contactID": 30003,
            "status": 1,
            "priority": 2,
            "assignedResourceID": None,
            "description": "The case files share prompts for credentials on every laptop.",
            "createDate": "2026-11-16T11:00:00.000Z",
            "lastActivityDate": "2026-11-16T11:00:00.000Z",
            "notes": [],
        },
        {
            "id": 7901,
            "ticketNumber": "T20261116.0004",
            "title": "Till receipt printer jams",
            "companyID": 176,
            "contactID": 30004,
            "status": 1,
            "priority": 3,
            "assignedResourceID": None,
            "description": "",
            "createDate": "2026-11-16T12:00:00.000Z",
            "lastActivityDate": "2026-11-16T12:00:00.000Z",
            "notes": [],
        },
    ],
}
