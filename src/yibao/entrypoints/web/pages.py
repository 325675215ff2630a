"""What every page module uses: rendering a template in the request's language, the
signed-in principal a page needs, forms that keep what was typed and show errors next
to their fields, and service errors turned into translated messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from yibao.domain.access import Principal, Role
from yibao.domain.text import text_problem
from yibao.entrypoints.web import words
from yibao.entrypoints.web.i18n import LANG_NAMES, LANGS, Translator
from yibao.entrypoints.web.session import (
    csrf_ok,
    csrf_token,
    current_principal,
    finish,
    language,
    services_of,
)
from yibao.service.errors import ServiceError
from yibao.service.services import Services


def _(message: str) -> str:
    """Marks a string of a page module for translation (translated when rendered, with
    `t(...)` or in a template); extraction finds it by this name."""
    return message


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("yibao.entrypoints.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        mask_id=words.mask_id,
        mask_ids=words.mask_ids_in,
        separated=words.separated,
        age_on=words.age_on,
        plain_step=words.plain_step,
        citation=words.citation,
        family_summary=words.family_summary,
    )
    return env


class SignInNeeded(Exception):  # noqa: N818  (a redirect, not an error)
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageForbidden(Exception):  # noqa: N818
    pass


class BadForm(Exception):  # noqa: N818
    """A POST whose CSRF token does not match: the page is shown again, nothing done."""


@dataclass
class Form:
    """What the user typed, and what is wrong with it, field by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field ("" for the form) -> message

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


class Page:
    """One request's page context: language, principal, services, rendering."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.lang = language(request)
        self.tr = Translator(self.lang)
        self.who = current_principal(request)
        self.services: Services = services_of(request)

    def t(self, message: str, **values: object) -> str:
        text = self.tr.gettext(message)
        return text.format(**values) if values else text

    def require(self, *roles: Role) -> Principal:
        """The signed-in principal if its role may see this page: otherwise the sign-in
        page (not signed in) or a 403 page."""
        if self.who is None:
            raise SignInNeeded(self.request.url.path)
        if roles and self.who.role not in roles:
            raise PageForbidden()
        return self.who

    async def form(self) -> Form:
        """The posted form, its CSRF token checked."""
        data = await self.request.form()
        values = {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != "csrf"}
        submitted = data.get("csrf")
        if not csrf_ok(self.request, submitted if isinstance(submitted, str) else None):
            raise BadForm()
        form = Form(values)
        for name, value in values.items():  # the same check as every API body's
            if text_problem(value) is not None:
                form.error(
                    name,
                    self.t(
                        "This holds a character that is not allowed (a control or "
                        "text-direction character): type it again."
                    ),
                )
        return form

    def service_error(self, form: Form, exc: ServiceError, fields: Mapping[str, str] = {}) -> None:
        """A service's refusal next to the field it names (or on top of the form),
        translated by its code."""
        name = str(exc.details.get("field", ""))
        name = fields.get(name, name)
        form.error(name if name in form.values else "", self.error_text(exc))

    def error_text(self, exc: ServiceError) -> str:
        known = ERROR_MESSAGES.get(exc.code)
        if known is not None:
            return self.t(known, **{k: str(v) for k, v in exc.details.items()})
        return self.t("The request was refused ({code}).", code=exc.code)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        env = environment()
        tmpl = env.get_template(template)
        html = tmpl.render(
            request=self.request,
            lang=self.lang,
            langs=LANGS,
            lang_names=LANG_NAMES,
            who=self.who,
            csrf=csrf_token(self.request),
            gettext=self.tr.gettext,
            ngettext=self.tr.ngettext,
            _=self.tr.gettext,
            t=self.t,
            url_in=lambda lang: f"{self.request.url.path}?lang={lang}",
            money=lambda amount: words.yuan(amount, self.lang),
            quote=quote,
            **context,
        )
        return finish(self.request, HTMLResponse(html, status_code=status))

    def redirect(self, path: str) -> Response:
        return finish(self.request, RedirectResponse(path, status_code=303))


# Service error codes -> a message a person reads, in their language. {name} takes
# the error's details. An unknown code shows a generic, translated sentence.
ERROR_MESSAGES: dict[str, str] = {
    "sign_in_failed": _("The account or the password is wrong."),
    "sign_in_delayed": _("Too many failed sign-ins from here: try again in {retry_after} seconds."),
    "weak_password": _("The password needs at least 8 characters."),
    "invalid_id_number": _("This is not a valid resident ID number: check every digit."),
    "unknown_person": _("No such person."),
    "forbidden": _("Your account may not do this."),
    "not_enrolled": _("Not enrolled on that day."),
}
