"""The portal's form base: every form's text passes through ``portal.text.text_clean``
before its fields check it, so text of invisible characters only is empty (a required
field says so) and direction controls never reach the database. Every form of the portal
derives from ``Form`` (or mixes in ``CleanTextMixin`` with a Django form); a test checks it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Model
from django.utils.datastructures import MultiValueDict

from portal.text import text_clean


def text_field_keys(form: forms.BaseForm) -> list[str]:
    """The data keys of the form's text fields (passwords are taken exactly as typed)."""
    return [
        form.add_prefix(name)
        for name, field in form.fields.items()
        if isinstance(field, forms.CharField)
        and getattr(field, "strip", False)
        and not isinstance(field.widget, forms.PasswordInput)
    ]


def data_with_clean_text(data: Mapping[str, Any], keys: list[str]) -> Mapping[str, Any]:
    """A copy of form or request data with the text under ``keys`` cleaned."""
    if isinstance(data, MultiValueDict):
        multi = data.copy()
        for key in keys:
            if key in multi:
                multi.setlist(key, [text_clean(v) if isinstance(v, str) else v for v in multi.getlist(key)])
        return multi
    copy = dict(data)
    for key in keys:
        if isinstance(copy.get(key), str):
            copy[key] = text_clean(copy[key])
    return copy


class CleanTextMixin(forms.BaseForm):
    def full_clean(self) -> None:
        if self.is_bound:
            self.data = data_with_clean_text(self.data, text_field_keys(self))
        super().full_clean()


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """The form's field ``name``, which must be a choice field (to set its choices)."""
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} is not a choice field")
    return field


def model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Model]:
    """The form's field ``name``, which must be a model choice field (to set its queryset)."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} is not a model choice field")
    return field


class Form(CleanTextMixin, forms.Form):
    pass
