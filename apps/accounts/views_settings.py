"""A client's Settings page: its name, autonomy and time zone, and who may reach it with which role."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts import services
from apps.accounts.access import require_role
from apps.accounts.forms import AddMemberForm, ClientSettingsForm, RoleForm
from apps.accounts.models import Membership, Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from tenants.models import Client
from tenants.services import update_client_settings


def get_membership_for_client(request: ClientRequest, membership_id: UUID) -> Membership:
    """Scoped accessor: a membership of the current client only, 404 for any other."""
    return get_object_or_404(
        Membership.objects.select_related("user", "client"), pk=membership_id, client=request.tenant
    )


def _render(
    request: ClientRequest,
    *,
    client_form: ClientSettingsForm | None = None,
    member_form: AddMemberForm | None = None,
    status: int = 200,
    partial: str = "",
) -> HttpResponse:
    context = {
        "client_form": client_form or ClientSettingsForm(instance=request.tenant),
        "member_form": member_form or AddMemberForm(),
        "members": Membership.objects.filter(client=request.tenant).select_related("user").order_by("user__email"),
        "roles": Role.choices,
        "can_manage": request.membership.allows(Role.ADMIN),
    }
    return render_page(request, "accounts/settings.html", context, partial=partial, status=status)


def settings_page(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
@require_role(Role.ADMIN)
def update_client(request: ClientRequest) -> HttpResponse:
    form = ClientSettingsForm(request.POST, instance=Client.objects.get(pk=request.tenant.pk))
    if not form.is_valid():
        return _render(request, client_form=form, status=400, partial="client")
    request.tenant = update_client_settings(client=request.tenant, changes=form.cleaned_data, actor=request.user)
    messages.success(request, "Client settings saved.")
    return partial_or_redirect(request, lambda: _render(request, partial="client"), "accounts:settings")


@require_POST
@require_role(Role.ADMIN)
def add_member(request: ClientRequest) -> HttpResponse:
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        return _render(request, member_form=form, status=400, partial="members")
    base_url = f"{request.scheme}://{request.get_host()}"
    try:
        services.set_membership(
            client=request.tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
            base_url=base_url,
        )
    except ValidationError as exc:  # no seat left on the client's plan, or a role it does not know
        form.add_error(None, exc)
        return _render(request, member_form=form, status=400, partial="members")
    messages.success(request, f"{form.cleaned_data['email']} now has access.")
    return partial_or_redirect(request, lambda: _render(request, partial="members"), "accounts:settings")


@require_POST
@require_role(Role.ADMIN)
def change_member_role(request: ClientRequest, membership_id: UUID) -> HttpResponse:
    membership = get_membership_for_client(request, membership_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Pick one of: Admin, Agent, Viewer.")
        services.change_role(membership=membership, role=form.cleaned_data["role"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return partial_or_redirect(
            request, lambda: _render(request, status=400, partial="members"), "accounts:settings"
        )
    return partial_or_redirect(request, lambda: _render(request, partial="members"), "accounts:settings")


@require_POST
@require_role(Role.ADMIN)
def remove_member(request: ClientRequest, membership_id: UUID) -> HttpResponse:
    membership = get_membership_for_client(request, membership_id)
    try:
        services.remove_membership(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return partial_or_redirect(
            request, lambda: _render(request, status=400, partial="members"), "accounts:settings"
        )
    return partial_or_redirect(request, lambda: _render(request, partial="members"), "accounts:settings")
