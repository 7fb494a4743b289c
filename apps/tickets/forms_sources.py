"""The forms that connect a help desk: only the fields each vendor needs, checked with messages that say what to fix.

Each form turns its fields into the source's configuration (sealed by ``services.create_source``);
the API's base URL is derived here from what the admin knows (a subdomain, a data centre, a repo).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django import forms

SECRET = forms.PasswordInput(render_value=False)
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
GITHUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
ZOHO_DATA_CENTRES = {
    "com": "United States (zoho.com)",
    "eu": "Europe (zoho.eu)",
    "in": "India (zoho.in)",
    "com.au": "Australia (zoho.com.au)",
    "jp": "Japan (zoho.jp)",
    "ca": "Canada (zohocloud.ca)",
}


def _subdomain(value: str, vendor: str, host: str) -> str:
    value = value.strip().lower().removeprefix("https://").removeprefix("http://").split(".")[0]
    if not SUBDOMAIN.match(value):
        raise forms.ValidationError(
            f"Give only your {vendor} subdomain: for https://acme.{host} write 'acme' (letters, digits, dashes)."
        )
    return value


class SourceForm(forms.Form):
    kind: ClassVar[str]
    polls: ClassVar[bool] = True

    name = forms.CharField(max_length=200, help_text="How the inbox labels tickets from this source.")
    poll_interval_seconds = forms.IntegerField(
        min_value=30,
        max_value=86_400,
        initial=120,
        label="Poll every (seconds)",
        error_messages={"min_value": "Poll at most every 30 seconds: help desks rate-limit their APIs."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"field-{name}"

    def config(self) -> dict[str, Any]:
        raise NotImplementedError


class ZendeskForm(SourceForm):
    kind = "zendesk"
    subdomain = forms.CharField(max_length=100, help_text="acme for https://acme.zendesk.com")
    email = forms.EmailField(help_text="The agent the API token belongs to.")
    api_token = forms.CharField(widget=SECRET, max_length=200, help_text="Admin Center → Apps and integrations → APIs.")
    webhook_secret = forms.CharField(
        widget=SECRET, required=False, max_length=200, help_text="The webhook's signing secret, to receive webhooks."
    )

    def clean_subdomain(self) -> str:
        return _subdomain(self.cleaned_data["subdomain"], "Zendesk", "zendesk.com")

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "base_url": f"https://{data['subdomain']}.zendesk.com",
            "email": data["email"],
            "api_token": data["api_token"],
            "webhook_secret": data["webhook_secret"],
        }


class FreshdeskForm(SourceForm):
    kind = "freshdesk"
    domain = forms.CharField(max_length=100, help_text="acme for https://acme.freshdesk.com")
    api_key = forms.CharField(widget=SECRET, max_length=200, help_text="Profile settings → Your API key.")
    webhook_secret = forms.CharField(
        widget=SECRET,
        required=False,
        min_length=16,
        max_length=200,
        help_text="A secret you choose; the automation rule sends it in the X-Gaby-Webhook-Secret header.",
        error_messages={"min_length": "Choose a webhook secret of at least 16 characters."},
    )

    def clean_domain(self) -> str:
        return _subdomain(self.cleaned_data["domain"], "Freshdesk", "freshdesk.com")

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "base_url": f"https://{data['domain']}.freshdesk.com",
            "api_key": data["api_key"],
            "webhook_secret": data["webhook_secret"],
        }


class ZohoDeskForm(SourceForm):
    kind = "zoho"
    data_centre = forms.ChoiceField(choices=sorted(ZOHO_DATA_CENTRES.items()), initial="com")
    org_id = forms.RegexField(
        regex=r"^\d{1,20}$",
        label="Organization ID",
        help_text="Setup → Developer Space → API.",
        error_messages={"invalid": "The organization ID is a number, e.g. 6482519."},
    )
    client_id = forms.CharField(max_length=200, help_text="From the Zoho API console (a self client works).")
    client_secret = forms.CharField(widget=SECRET, max_length=200)
    refresh_token = forms.CharField(
        widget=SECRET, max_length=500, help_text="Generated with the scope Desk.tickets.ALL,Desk.basic.READ."
    )
    from_email = forms.EmailField(required=False, help_text="The support address replies are sent from.")

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        centre = data["data_centre"]
        domain = "zohocloud.ca" if centre == "ca" else f"zoho.{centre}"
        return {
            "base_url": f"https://desk.{domain}",
            "accounts_url": f"https://accounts.{domain}",
            "org_id": data["org_id"],
            "client_id": data["client_id"],
            "client_secret": data["client_secret"],
            "refresh_token": data["refresh_token"],
            "from_email": data["from_email"],
        }


class GitHubForm(SourceForm):
    kind = "github"
    repository = forms.CharField(max_length=140, help_text="owner/name, e.g. acme/support")
    token = forms.CharField(
        widget=SECRET,
        max_length=300,
        help_text="A fine-grained token with Issues: read and write on that repository.",
    )
    webhook_secret = forms.CharField(widget=SECRET, required=False, max_length=200)

    def clean_repository(self) -> str:
        value = self.cleaned_data["repository"].strip().removeprefix("https://github.com/").strip("/")
        if not GITHUB_REPO.match(value):
            raise forms.ValidationError("Write the repository as owner/name, e.g. acme/support.")
        return value

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "base_url": "https://api.github.com",
            "repository": data["repository"],
            "token": data["token"],
            "webhook_secret": data["webhook_secret"],
        }


class LinearForm(SourceForm):
    kind = "linear"
    api_key = forms.CharField(widget=SECRET, max_length=300, help_text="Settings → Security & access → API keys.")
    team_key = forms.RegexField(
        regex=r"^[A-Za-z0-9]{1,10}$",
        required=False,
        help_text="Only this team's issues (e.g. SUP); empty for every team the key sees.",
        error_messages={"invalid": "A team key is letters and digits, e.g. SUP."},
    )
    webhook_secret = forms.CharField(widget=SECRET, required=False, max_length=200)

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "base_url": "https://api.linear.app",
            "api_key": data["api_key"],
            "team_key": data["team_key"].upper(),
            "webhook_secret": data["webhook_secret"],
        }


FORMS: dict[str, type[SourceForm]] = {
    form.kind: form for form in (ZendeskForm, FreshdeskForm, ZohoDeskForm, GitHubForm, LinearForm)
}
