"""The onboarding templates pages (MSP staff, in the portal): list and create, edit with versions, diff, apply."""

from __future__ import annotations

import structlog
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts.access import msp_staff_required
from apps.core.http import GabyRequest
from apps.onboarding.client_templates import apply as applying
from apps.onboarding.client_templates import versions
from apps.onboarding.client_templates.forms import STARTER, ApplyToClientForm, NewTemplateForm, TemplateYamlForm
from apps.onboarding.client_templates.models import ClientTemplate, ClientTemplateUse, TemplateVersion
from apps.onboarding.client_templates.onboard import check_latest
from apps.onboarding.client_templates.spec import TemplateInvalid, bundles
from tenants.models import Client

log = structlog.get_logger(__name__)


def _add_problems(form: TemplateYamlForm, exc: TemplateInvalid | ValidationError) -> None:
    if isinstance(exc, TemplateInvalid):
        for problem in exc.problems:
            form.add_error("yaml", problem)
    else:
        form.add_error(None, exc)


@msp_staff_required
@require_http_methods(["GET", "POST"])
def index(request: GabyRequest) -> HttpResponse:
    form = NewTemplateForm(request.POST or None, initial={"yaml": STARTER})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                template = versions.create_template(
                    key=form.cleaned_data["key"], yaml_text=form.cleaned_data["yaml"], actor=request.user
                )
            except (TemplateInvalid, ValidationError) as exc:
                _add_problems(form, exc)
            else:
                messages.success(request, f"{template.name} created (version 1).")
                return redirect("client_templates:detail", template.key)
    templates = ClientTemplate.objects.annotate(clients=Count("versions__uses")).prefetch_related("versions")
    context = {"templates": templates, "form": form, "bundles": bundles()}
    return render(request, "client_templates/index.html", context, status=status)


def _template(key: str) -> ClientTemplate:
    return get_object_or_404(ClientTemplate, key=key)


@msp_staff_required
@require_http_methods(["GET", "POST"])
def detail(request: GabyRequest, key: str) -> HttpResponse:
    template = _template(key)
    latest = template.latest
    form = TemplateYamlForm(request.POST or None, initial={"yaml": latest.yaml if latest else ""})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                version = versions.save_version(
                    template=template, yaml_text=form.cleaned_data["yaml"], actor=request.user
                )
            except TemplateInvalid as exc:
                _add_problems(form, exc)
            else:
                if version is None:
                    messages.info(request, "Nothing changed: no new version.")
                else:
                    messages.success(request, f"Saved as version {version.number} ({', '.join(version.changed)}).")
                return redirect("client_templates:detail", template.key)
    uses = ClientTemplateUse.objects.filter(version__template=template).select_related("client", "version")
    context = {
        "template": template,
        "latest": latest,
        "form": form,
        "history": template.versions.select_related("created_by").order_by("-number"),
        "uses": uses.order_by("client__name"),
        "apply_form": ApplyToClientForm(),
        "bundles": bundles(),
    }
    return render(request, "client_templates/detail.html", context, status=status)


@msp_staff_required
def version(request: GabyRequest, key: str, number: int) -> HttpResponse:
    template = _template(key)
    shown = get_object_or_404(TemplateVersion, template=template, number=number)
    before = TemplateVersion.objects.filter(template=template, number__lt=number).order_by("-number").first()
    context = {"template": template, "version": shown, "before": before, "diff": versions.diff(before, shown)}
    return render(request, "client_templates/version.html", context)


@msp_staff_required
@require_http_methods(["GET", "POST"])
def apply_to_client(request: GabyRequest, key: str) -> HttpResponse:
    """GET ?client=slug: what applying the latest version would change; POST: apply it (all or nothing)."""
    template = _template(key)
    form = ApplyToClientForm(request.POST or request.GET)
    if not form.is_valid():
        raise Http404("Choose one of your clients.")
    client: Client = form.cleaned_data["client"]
    try:
        latest = check_latest(template)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("client_templates:detail", template.key)
    if request.method == "POST":
        try:
            changes = applying.apply(client=client, version=latest, actor=request.user)
        except Exception as exc:  # one transaction: nothing of the template was set
            log.warning("template_apply_failed", client=client.slug, template=template.key, error=repr(exc))
            messages.error(request, f"Nothing was applied to {client.name}: {exc}")
            return redirect("client_templates:detail", template.key)
        messages.success(
            request,
            f"{template.name} v{latest.number} applied to {client.name}: {len(changes)} "
            f"change{'s' if len(changes) != 1 else ''}.",
        )
        return redirect("client_templates:detail", template.key)
    use = ClientTemplateUse.objects.filter(client=client).select_related("version__template").first()
    context = {
        "template": template,
        "latest": latest,
        "client": client,
        "use": use,
        "changes": applying.plan(client=client, version=latest),
    }
    return render(request, "client_templates/apply.html", context)
