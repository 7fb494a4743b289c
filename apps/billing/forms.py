"""The billing rules form: each field checked with a message that says what to fix."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.agent.playbooks.templating import TemplateProblem, render
from apps.billing.models import BillingRule
from apps.billing.rules import check_note_template

ROUNDING_CHOICES = [(1, "1 minute"), (6, "6 minutes (a tenth of an hour)"), (10, "10 minutes"), (15, "15 minutes"),
                    (30, "30 minutes"), (60, "1 hour")]  # fmt: skip
NUMERIC_ID_KINDS = {"halopsa": "HaloPSA", "autotask": "Autotask"}  # ConnectWise names its work types and members
SAMPLE = {
    "ticket": {"external_id": "3001", "title": "Payslips print blank"},
    "kind": "Investigation",
    "worker": "Gaby",
    "minutes": 4.5,
    "billed_minutes": 6,
    "summary": "The printer's driver was reinstalled.",
    "role": "L1",
}


class BillingRuleForm(forms.ModelForm):
    rounding_minutes = forms.TypedChoiceField(
        choices=ROUNDING_CHOICES, coerce=int, label="Round billed time up to", initial=6
    )

    class Meta:
        model = BillingRule
        fields = [
            "billable",
            "bill_gaby",
            "bill_operators",
            "minimum_minutes",
            "rounding_minutes",
            "work_type",
            "role",
            "agreement_id",
            "member_id",
            "note_template",
        ]
        labels = {
            "billable": "Billable",
            "bill_gaby": "Bill Gaby's investigations",
            "bill_operators": "Bill operators' replies and notes",
            "minimum_minutes": "Don't bill under (minutes)",
            "work_type": "Work type / charge rate id",
            "agreement_id": "Agreement / contract id",
            "member_id": "Gaby's member / agent id in the PSA",
        }
        widgets = {"note_template": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, source_kinds: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source_kinds = source_kinds or set()  # the PSAs this rule's time is written to
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"rule-{name}")

    def clean_minimum_minutes(self) -> int:
        value = int(self.cleaned_data["minimum_minutes"])
        if value > 480:
            raise forms.ValidationError("The minimum is at most 480 minutes (a working day); use 0 to bill all work.")
        return value

    def _clean_id(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "").strip()
        numeric = sorted(label for kind, label in NUMERIC_ID_KINDS.items() if kind in self.source_kinds)
        if value and numeric and not value.isdigit():
            raise forms.ValidationError(f"{' and '.join(numeric)} ids are whole numbers: write the id, not a name.")
        return value

    def clean_work_type(self) -> str:
        return self._clean_id("work_type")

    def clean_agreement_id(self) -> str:
        return self._clean_id("agreement_id")

    def clean_member_id(self) -> str:
        return self._clean_id("member_id")

    def clean_note_template(self) -> str:
        value = str(self.cleaned_data.get("note_template") or "").strip()
        if not value:
            raise forms.ValidationError("Write a note template: it is the text of the time entry in the PSA.")
        try:
            check_note_template(value)
            render(value, SAMPLE)
        except TemplateProblem as exc:
            raise forms.ValidationError(
                f"The note template does not work ({exc}). Use ticket.external_id, ticket.title, kind, worker, "
                "minutes, billed_minutes, summary and role."
            ) from None
        return value
