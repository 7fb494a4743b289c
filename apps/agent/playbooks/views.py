"""The Playbooks page (SUP-7): the shipped and the client's own playbooks, their problems, on/off and upload.

Members read; Admins change. Every row lives in the client's schema, so another client's playbooks are
out of reach by construction; ``get_entry_for_client`` 404s on names this client does not have.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.agent.playbooks import services
from apps.agent.playbooks.library import Catalog, Entry, catalog
from apps.agent.playbooks.models import ClientPlaybook
from apps.agent.playbooks.schema import MAX_YAML, PlaybookInvalid
from apps.core.http import ClientRequest, partial_or_redirect, render_page


class UploadForm(forms.Form):
    yaml_text = forms.CharField(
        label="Playbook YAML",
        required=False,
        max_length=MAX_YAML,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )
    file = forms.FileField(required=False, help_text="Or upload a .yaml file.")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_YAML:
                raise forms.ValidationError(f"The file is larger than {MAX_YAML} characters.")
            try:
                data["yaml_text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not str(data.get("yaml_text") or "").strip():
            raise forms.ValidationError("Paste the playbook's YAML or choose a file.")
        return data


def get_entry_for_client(name: str) -> tuple[Catalog, Entry]:
    """Scoped accessor: the named playbook as the current client sees it, 404 otherwise."""
    current = catalog()
    entry = current.get(name)
    if entry is None:
        raise Http404("No such playbook.")
    return current, entry


def _render(
    request: ClientRequest,
    *,
    form: UploadForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
    partial: str = "",
) -> HttpResponse:
    context = {
        "catalog": catalog(),
        "form": form or UploadForm(),
        "problems": problems or [],
        "can_manage": request.membership.allows(Role.ADMIN),
    }
    return render_page(request, "playbooks/list.html", context, partial=partial, status=status)


def playbook_list(request: ClientRequest) -> HttpResponse:
    return _render(request)


def detail(request: ClientRequest, name: str) -> HttpResponse:
    _, entry = get_entry_for_client(name)
    context = {"entry": entry, "can_manage": request.membership.allows(Role.ADMIN)}
    return render_page(request, "playbooks/detail.html", context)


@require_POST
@require_role(Role.ADMIN)
def upload(request: ClientRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form=form, status=400, partial="upload")
    try:
        row = services.save_playbook(yaml_text=form.cleaned_data["yaml_text"], actor=request.user)
    except PlaybookInvalid as exc:
        return _render(request, form=form, problems=[str(p) for p in exc.problems], status=400, partial="upload")
    messages.success(request, f"Playbook {row.name} saved.")
    return redirect("playbooks:detail", name=row.name)


@require_POST
@require_role(Role.ADMIN)
def toggle(request: ClientRequest, name: str) -> HttpResponse:
    _, entry = get_entry_for_client(name)
    services.set_enabled(name=entry.name, enabled=not entry.enabled, actor=request.user)
    return partial_or_redirect(request, lambda: _render(request, partial="table"), "playbooks:list")


@require_POST
@require_role(Role.ADMIN)
def remove(request: ClientRequest, name: str) -> HttpResponse:
    row = get_object_or_404(ClientPlaybook.objects.exclude(yaml=""), name=name)
    services.remove_playbook(row=row, actor=request.user)
    messages.success(request, f"Playbook {name} removed.")
    return redirect("playbooks:list")
