"""The portal's form base: every form's text passes through ``portal.text.text_clean``
before its fields check it, so text of invisible characters only is empty (a required
field says so) and direction controls never reach the database. Every form of the portal
derives from ``Form`` (or mixes in ``CleanTextMixin`` with a Django form); a test checks it."""

from __future__ import annotations

from typing import Any

from django import forms

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


def data_with_clean_text(data: Any, keys: list[str]) -> Any:
    """A copy of form or request data with the text under ``keys`` cleaned."""
    if hasattr(data, "getlist"):
        copy = data.copy()
        for key in keys:
            if key in copy:
                copy.setlist(key, [text_clean(v) if isinstance(v, str) else v for v in copy.getlist(key)])
        return copy
    copy = dict(data)
    for key in keys:
        if isinstance(copy.get(key), str):
            copy[key] = text_clean(copy[key])
    return copy


class CleanTextMixin:
    def full_clean(self) -> None:
        if self.is_bound:  # type: ignore[attr-defined]
            self.data = data_with_clean_text(self.data, text_field_keys(self))  # type: ignore[has-type, arg-type]
        super().full_clean()  # type: ignore[misc]


class Form(CleanTextMixin, forms.Form):
    pass
