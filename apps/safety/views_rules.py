"""SAF-4: the client's allow/deny rules (Admins)."""

from __future__ import annotations

import json
from uuid import UUID

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.core.http import ClientRequest
from apps.safety import services
from apps.safety.models import RuleEffect, SafetyRule


class RuleForm(forms.Form):
    effect = forms.ChoiceField(choices=RuleEffect.choices)
    connector = forms.ModelChoiceField(queryset=Connector.objects.all(), required=False, empty_label="Any connector")
    tool_pattern = forms.CharField(max_length=200, initial="*", help_text="Glob on the tool name, e.g. restart_*")
    predicates = forms.CharField(
        required=False,
        label="Conditions",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='JSON list, e.g. [{"argument": "namespace", "op": "eq", "value": "prod"}]; '
        "ops: eq ne in not_in prefix regex",
    )
    label = forms.CharField(max_length=200, required=False)

    def clean_predicates(self) -> list[dict[str, object]]:
        raw = self.cleaned_data["predicates"].strip() or "[]"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.msg} at character {exc.pos}.") from None
        try:
            services.check_predicates(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


@require_role(Role.ADMIN)
def rules(request: ClientRequest) -> HttpResponse:
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.add_rule(actor=request.user, **form.cleaned_data)
        return redirect("safety:rules")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "safety/rules.html",
        {"form": form, "rules": SafetyRule.objects.select_related("connector")},
        status=status,
    )


@require_POST
@require_role(Role.ADMIN)
def delete_rule(request: ClientRequest, rule_id: UUID) -> HttpResponse:
    services.delete_rule(rule=get_object_or_404(SafetyRule, pk=rule_id), actor=request.user)
    return redirect("safety:rules")
