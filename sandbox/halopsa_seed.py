"""The HaloPSA stand-in's demo data: one MSP's Halo with three client companies, their end users and tickets.

Shapes follow HaloPSA's REST API (Tickets, Actions, Client, Users, Agent). Status ids are Halo's defaults
(1 New, 2 In Progress, 3 Action Required, 4 Waiting on User, 8 On Hold, 9 Closed); priority ids 1 Critical,
2 High, 3 Medium, 4 Low. Times are ISO 8601 in UTC, as Halo writes them.
"""

from __future__ import annotations

from typing import Any

STATUSES = {1: "New", 2: "In Progress", 3: "Action Required", 4: "Waiting on User", 8: "On Hold", 9: "Closed"}
PRIORITIES = {1: "Critical", 2: "High", 3: "Medium", 4: "Low"}

DEMO_SEED: dict[str, Any] = {
    "tenant": "northwind",
    "applications": {"gaby-api": "halo-client-secret"},  # client id -> client secret (client credentials)
    "token_lifespan": 3600,
    "clients": [
        {"id": 12, "name": "Hartwell Dental", "inactive": False},
        {"id": 13, "name": "Dearborn Law", "inactive": False},
        {"id": 14, "name": "Ashby Bakery", "inactive": False},
    ],
    "users": [
        {"id": 101, "name": "Nora Payroll", "emailaddress": "nora@hartwell.example", "client_id": 12},
        {"id": 102, "name": "Sam Front Desk", "emailaddress": "sam@hartwell.example", "client_id": 12},
        {"id": 201, "name": "Dana Clerk", "emailaddress": "dana@dearborn.example", "client_id": 13},
        {"id": 301, "name": "Ash Baker", "emailaddress": "ash@ashby.example", "client_id": 14},
    ],
    "agents": [
        {"id": 1, "name": "Gaby (API)", "email": "gaby@northwind-msp.example"},
        {"id": 5, "name": "Priya Tech", "email": "priya@northwind-msp.example"},
    ],
    "tickets": [
        {
            "id": 3001,
            "summary": "Payslips print blank",
            "details": "Payslips come out blank on the HP LaserJet in accounting.",
            "client_id": 12,
            "user_id": 101,
            "status_id": 1,
            "priority_id": 2,
            "agent_id": 0,
            "dateoccurred": "2026-11-16T09:00:00Z",
            "last_update": "2026-11-16T09:05:00Z",
            "actions": [
                {
                    "id": 9001,
                    "outcome": "Email User",
                    "note": "Which printer model is it?",
                    "who": "Priya Tech",
                    "who_agentid": 5,
                    "hiddenfromuser": False,
                    "datetime": "2026-11-16T09:05:00Z",
                },
            ],
        },
        {
            "id": 3002,
            "summary": "Cannot reach the imaging server",
            "details": "X-ray viewer says the imaging server is offline since this morning.",
            "client_id": 12,
            "user_id": 102,
            "status_id": 2,
            "priority_id": 1,
            "agent_id": 5,
            "dateoccurred": "2026-11-16T10:00:00Z",
            "last_update": "2026-11-16T10:30:00Z",
            "actions": [
                {
                    "id": 9002,
                    "outcome": "Private Note",
                    "note": "Switch port 14 flapping, checked remotely.",
                    "who": "Priya Tech",
                    "who_agentid": 5,
                    "hiddenfromuser": True,
                    "datetime": "2026-11-16T10:30:00Z",
                },
            ],
        },
        {
            "id": 4001,
            "summary": "Shared drive asks for a password",
            "details": "The case files share prompts for credentials on every laptop.",
            "client_id": 13,
            "user_id": 201,
            "status_id": 1,
            "priority_id": 3,
            "agent_id": 0,
            "dateoccurred": "2026-11-16T11:00:00Z",
            "last_update": "2026-11-16T11:00:00Z",
            "actions": [],
        },
        {
            "id": 5001,
            "summary": "Till receipt printer jams",
            "details": "The receipt printer at the till jams every morning.",
            "client_id": 14,
            "user_id": 301,
            "status_id": 1,
            "priority_id": 4,
            "agent_id": 0,
            "dateoccurred": "2026-11-16T12:00:00Z",
            "last_update": "2026-11-16T12:00:00Z",
            "actions": [],
        },
    ],
}
