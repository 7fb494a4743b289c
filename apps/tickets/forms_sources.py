"""The forms that connect a help desk: only the fields each vendor needs, checked with messages that say what to fix.

Each form turns its fields into the source's configuration (sealed by ``services.create_source``);
the API's base URL is derived here from what the admin knows (a subdomain, a data centre, a repo).
"""

from __future__ import annotations

import re
import secrets
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


def chosen_secret(how_sent: str) -> forms.CharField:
    """A webhook secret the admin chooses (for vendors that send a shared secret instead of signing)."""
    return forms.CharField(
        widget=SECRET,
        required=False,
        min_length=16,
        max_length=200,
        help_text=f"A secret you choose; {how_sent}",
        error_messages={"min_length": "Choose a webhook secret of at least 16 characters."},
    )


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

    def after_create(self, client: Any, source: Any) -> str:
        """Anything to set up at the vendor once the source exists; a warning to show when it could not be."""
        return ""


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
    webhook_secret = chosen_secret("the automation rule sends it in the X-Gaby-Webhook-Secret header.")

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


class HaloPSAForm(SourceForm):
    """One Halo client (company) for this Gaby client; an MSP maps many at once with ``gaby connect-halopsa``."""

    kind = "halopsa"
    base_url = forms.URLField(
        assume_scheme="https",
        label="Halo URL",
        help_text="Your Halo's address, e.g. https://northwind.halopsa.com (no /api).",
    )
    auth_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Authorisation server",
        help_text="Only if Halo's API page shows an authorisation server other than <Halo URL>/auth.",
    )
    tenant = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{1,100}$",
        required=False,
        help_text="Hosted Halo only: the tenant name shown under Configuration → Integrations → HaloPSA API.",
        error_messages={"invalid": "The tenant is one word of letters, digits, dashes or underscores."},
    )
    client_id = forms.CharField(max_length=200, label="API client ID", help_text="The API application's client ID.")
    client_secret = forms.CharField(widget=SECRET, max_length=300, label="API client secret")
    halo_client_id = forms.IntegerField(
        min_value=1,
        label="Halo client ID",
        help_text="The Halo client (company) whose tickets are this Gaby client's: the number in its Halo URL.",
        error_messages={"min_value": "A Halo client ID is a positive number, e.g. 12."},
    )
    webhook_secret = chosen_secret("the Halo webhook sends it as its Basic authentication password.")

    def clean_base_url(self) -> str:
        value: str = self.cleaned_data["base_url"].strip().rstrip("/")
        value = value.removesuffix("/api").removesuffix("/auth")
        if not value.startswith("https://"):
            raise forms.ValidationError("Give the https:// address of your Halo, e.g. https://northwind.halopsa.com.")
        return value

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("base_url", "tenant", "client_id", "client_secret", "webhook_secret")
        config = {**{key: data[key] for key in keys}, "halo_client_id": str(data["halo_client_id"])}
        if data["auth_url"]:
            config["auth_url"] = data["auth_url"].rstrip("/").removesuffix("/token")
        return config


class ConnectWiseForm(SourceForm):
    """One Manage company for this Gaby client; an MSP maps many at once with ``gaby connect-connectwise``."""

    kind = "connectwise"
    site_url = forms.URLField(
        assume_scheme="https",
        label="ConnectWise API site",
        help_text="The API host of your Manage, e.g. https://api-na.myconnectwise.net (no /v4_6_release).",
    )
    company_id = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{1,60}$",
        label="Company ID",
        help_text="The company you log in to Manage with (the first field of its login page).",
        error_messages={"invalid": "The company ID is one word: letters, digits, dots, dashes or underscores."},
    )
    public_key = forms.CharField(max_length=100, label="Public key", help_text="The API member's public key.")
    private_key = forms.CharField(widget=SECRET, max_length=200, label="Private key")
    client_id = forms.RegexField(
        regex=r"^[0-9A-Fa-f-]{32,36}$",
        label="clientId",
        help_text="Your integration's clientId from developer.connectwise.com (a GUID).",
        error_messages={"invalid": "A clientId is a GUID, e.g. 6a1f5b7e-3c0d-4f59-9d8e-1b2c3d4e5f60."},
    )
    cw_company_id = forms.IntegerField(
        min_value=1,
        label="Manage company record ID",
        help_text="The company whose tickets are this Gaby client's: the number `gaby connect-connectwise --list` "
        "prints beside its name.",
        error_messages={"min_value": "A company record ID is a positive number, e.g. 250."},
    )
    callback_secret = chosen_secret("it ends the callback URL you register in ConnectWise.")

    def clean_site_url(self) -> str:
        value: str = self.cleaned_data["site_url"].strip().rstrip("/")
        value = value.split("/v4_6_release", 1)[0]
        if not value.startswith("https://"):
            raise forms.ValidationError(
                "Give the https:// address of your Manage API, e.g. https://api-na.myconnectwise.net."
            )
        return value

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("site_url", "company_id", "public_key", "private_key", "client_id", "callback_secret")
        return {**{key: data[key] for key in keys}, "cw_company_id": str(data["cw_company_id"])}


class AutotaskForm(SourceForm):
    """One Autotask company for this Gaby client; an MSP maps many at once with ``gaby connect-autotask``."""

    kind = "autotask"
    username = forms.EmailField(label="API user", help_text="The API user's username (its full login).")
    secret = forms.CharField(widget=SECRET, max_length=200, label="Secret", help_text="The API user's secret.")
    integration_code = forms.RegexField(
        regex=r"^[A-Za-z0-9]{8,64}$",
        label="API integration code",
        help_text="The API user's tracking identifier (Security tab of the API user).",
        error_messages={"invalid": "The integration code is the tracking identifier: letters and digits, no spaces."},
    )
    at_company_id = forms.IntegerField(
        min_value=0,
        label="Autotask company ID",
        help_text="The company whose tickets are this Gaby client's: the number `gaby connect-autotask --list` "
        "prints beside its name.",
    )

    webhook = forms.BooleanField(
        required=False,
        label="Ticket webhook",
        help_text="Let Autotask call Gaby the moment a ticket changes: Gaby creates a ticket webhook in Autotask with "
        "its own secret key. The source keeps polling either way.",
    )

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("username", "secret", "integration_code")
        config = {**{key: data[key] for key in keys}, "at_company_id": str(data["at_company_id"])}
        if data.get("webhook"):
            config["webhook_secret"] = secrets.token_urlsafe(32)  # 43 characters: Autotask's SecretKey holds 64
        return config

    def after_create(self, client: Any, source: Any) -> str:
        if not self.cleaned_data.get("webhook"):
            return ""
        from apps.tickets.autotask_mapping import register_webhooks
        from apps.tickets.psa_mapping import Connected
        from apps.tickets.services import source_config
        from apps.tickets.sources.base import SourceError

        config = source_config(client=client, source=source)
        made = Connected(client, source, int(config["at_company_id"]), source.name, str(config["webhook_secret"]))
        try:
            register_webhooks([made])
        except SourceError as exc:
            return f"The ticket webhook could not be created in Autotask ({exc}); the source polls."
        return ""


SECURITY = [("ssl", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", "None (only inside a trusted network)")]


class EmailForm(SourceForm):
    """A support mailbox: Gaby reads it over IMAP and answers over SMTP (apps/tickets/sources/email)."""

    kind = "email"
    imap_host = forms.CharField(max_length=255, label="IMAP server", help_text="e.g. imap.example.com")
    imap_security = forms.ChoiceField(choices=SECURITY, initial="ssl", label="IMAP security")
    imap_port = forms.IntegerField(
        required=False, min_value=1, max_value=65_535, label="IMAP port", help_text="Empty: 993 with SSL, else 143."
    )
    imap_user = forms.CharField(max_length=255, label="IMAP user", help_text="Usually the mailbox's address.")
    imap_password = forms.CharField(widget=SECRET, max_length=500, label="IMAP password")
    mailbox = forms.CharField(max_length=200, initial="INBOX", help_text="The folder Gaby reads.")
    smtp_host = forms.CharField(max_length=255, label="SMTP server", help_text="e.g. smtp.example.com")
    smtp_security = forms.ChoiceField(choices=SECURITY, initial="starttls", label="SMTP security")
    smtp_port = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=65_535,
        label="SMTP port",
        help_text="Empty: 587 with STARTTLS, 465 with SSL, else 25.",
    )
    smtp_user = forms.CharField(
        max_length=255, required=False, label="SMTP user", help_text="Empty when the server needs no login."
    )
    smtp_password = forms.CharField(widget=SECRET, required=False, max_length=500, label="SMTP password")
    from_address = forms.CharField(
        max_length=320,
        label="Replies come from",
        help_text="The address customers see, e.g. Hartwell Support <support@example.com>.",
    )

    def clean_imap_host(self) -> str:
        return _host(self.cleaned_data["imap_host"], "IMAP")

    def clean_smtp_host(self) -> str:
        return _host(self.cleaned_data["smtp_host"], "SMTP")

    def clean_from_address(self) -> str:
        value: str = self.cleaned_data["from_address"].strip()
        address = value.rsplit("<", 1)[-1].rstrip(">").strip()
        try:
            forms.EmailField().clean(address)
        except forms.ValidationError:
            raise forms.ValidationError(
                "Give an email address, alone or as Name <address>: e.g. Support <support@example.com>."
            ) from None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("smtp_user") and not data.get("smtp_password"):
            self.add_error("smtp_password", "Give the SMTP password for this user, or leave the user empty.")
        return data

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("imap_host", "imap_security", "imap_user", "imap_password", "mailbox", "smtp_host", "smtp_security")
        config = {key: data[key] for key in keys}
        config |= {"smtp_user": data["smtp_user"], "smtp_password": data["smtp_password"]}
        config["from_address"] = data["from_address"]
        for port in ("imap_port", "smtp_port"):
            if data[port]:
                config[port] = data[port]
        return config


def _host(value: str, what: str) -> str:
    host = value.strip().lower().removeprefix("imaps://").removeprefix("smtp://").rstrip("/")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,253}[a-z0-9])?", host):
        raise forms.ValidationError(f"Give the {what} server's host name only, e.g. mail.example.com (no port).")
    return host


FORMS: dict[str, type[SourceForm]] = {
    form.kind: form
    for form in (
        EmailForm,
        ZendeskForm,
        FreshdeskForm,
        ZohoDeskForm,
        GitHubForm,
        LinearForm,
        HaloPSAForm,
        ConnectWiseForm,
        AutotaskForm,
    )
}
