"""How every form draws itself: Django's form renderer, pointed at the project's templates.

``{{ form }}`` and ``{{ field.as_field_group }}`` render through templates/forms/form.html and field.html, so a
label, its input, help text and errors look and behave the same on every page (and stay tied together for screen
readers), instead of each template repeating its own field loop.
"""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
