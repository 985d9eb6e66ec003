"""Text and object templates: placeholders, defaults, typed values, optional keys."""

from __future__ import annotations

from typing import Any

import pytest

from kith.notation.rendering import (
    TemplateSyntaxError,
    compile_object_template,
    compile_text_template,
    render_object,
    render_text,
    template_problem,
)

SCOPE: dict[str, Any] = {
    "profile": {
        "id": "p-1",
        "data": {
            "pii": {"firstname": "Ann", "lastname": None},
            "contact": {"email": {"main": "ann@example.com"}},
            "metrics": {"orders": 3, "ltv": 120.5},
        },
        "segments": ["vip"],
        "traits": {"opted in": True},
    },
    "event": {"type": "purchase", "properties": {"items": [{"sku": "x-1"}, {"sku": "x-2"}]}},
    "payload": {"answer": 42},
    "memory": {"step": "two"},
    "flow": {"name": "Welcome"},
}


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ("Hi {{profile@data.pii.firstname|default:'there'}}", "Hi Ann"),
        ("Hi {{profile@data.pii.nickname|default:'there'}}", "Hi there"),
        ("Hi {{profile@data.pii.lastname|default:'friend'}}", "Hi friend"),
        ("Hi {{profile@data.pii.nickname}}!", "Hi !"),
        ("Hi {{profile@data.pii.lastname}}!", "Hi !"),
        ("{{ profile@data.pii.firstname }} / {{ event@type }}", "Ann / purchase"),
        ('{{ profile@x | default : "a|b}}" }}', "a|b}}"),
        ("{{profile@data.metrics.orders}} orders, {{profile@data.metrics.ltv}}", "3 orders, 120.5"),
        ('{{profile@segments}} {{profile@traits["opted in"]}}', '["vip"] true'),
        ("{{event@properties.items.1.sku}}", "x-2"),
        ("{{payload@answer}} {{memory@step}} {{flow@name}} {{session@id}}", "42 two Welcome "),
        ("no placeholders", "no placeholders"),
        ("", ""),
        ("{ single } braces {{profile@id}}", "{ single } braces p-1"),
        ("line 1\n{{profile@id}}\n", "line 1\np-1\n"),
    ],
)
def test_text_templates(template: str, text: str) -> None:
    assert render_text(template, SCOPE) == text


def test_text_templates_compile_once() -> None:
    template = "Hi {{profile@data.pii.firstname}}"
    assert compile_text_template(template) is compile_text_template(template)
    assert compile_text_template(template).render({}) == "Hi "


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("Hi {{ firstname }}", "line 1, column 4: {{ firstname }} needs a field path"),
        ("Hi\n  {{profile@a", "line 2, column 3: '{{' is never closed"),
        ("{{profile@a|upper}}", "unknown filter 'upper'"),
        ("{{user@a}}", "needs a field path"),
        (r"{{profile@a|default:'\q'}}", "invalid escape"),
    ],
)
def test_broken_text_templates(template: str, says: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_text_template(template)
    assert says in str(caught.value)
    assert template_problem(template) == str(caught.value)


def test_object_templates() -> None:
    template = {
        "email": "profile@data.contact.email.main",
        "orders": "profile@data.metrics.orders",
        "vip": "profile@segments",
        "name?": "profile@data.pii.firstname",
        "phone?": "profile@data.contact.phone.main",
        "surname?": "profile@data.pii.lastname",
        "surname": "profile@data.pii.lastname",
        "missing": "profile@data.nothing",
        "greeting": "Dear {{profile@data.pii.firstname|default:'customer'}}",
        "static": {"n": 1, "on": True, "none": None, "text": "plain text"},
        "items": [
            "event@properties.items.0.sku",
            "event@nothing",
            7,
            {"answer?": "payload@answer"},
        ],
        "everything": "event@...",
        "an address": "user@example.com",
        "with space": "profile@data. pii",
        "nested": {"deep": {"flow?": "flow@name", "gone?": "flow@id"}},
    }
    assert render_object(template, SCOPE) == {
        "email": "ann@example.com",
        "orders": 3,
        "vip": ["vip"],
        "name": "Ann",
        "surname": None,
        "missing": None,
        "greeting": "Dear Ann",
        "static": {"n": 1, "on": True, "none": None, "text": "plain text"},
        "items": ["x-1", None, 7, {"answer": 42}],
        "everything": SCOPE["event"],
        "an address": "user@example.com",
        "with space": "profile@data. pii",
        "nested": {"deep": {"flow": "Welcome"}},
    }


def test_object_templates_copy_what_they_take() -> None:
    rendered = compile_object_template({"vip": "profile@segments"}).render(SCOPE)
    rendered["vip"].append("changed")
    assert SCOPE["profile"]["segments"] == ["vip"]
    assert compile_object_template("profile@id").render(SCOPE) == "p-1"
    assert compile_object_template("profile@nothing").render(SCOPE) is None
    assert compile_object_template([1, "x {{profile@id}}"]).render({}) == [1, "x "]


def test_broken_object_templates_name_the_place() -> None:
    problem = template_problem({"body": {"lines": ["ok", "Hi {{ name }}"]}})
    assert problem is not None and problem.startswith("at body.lines.1: line 1, column 4:")
    deep: Any = "profile@id"
    for _ in range(100):
        deep = {"k": deep}
    with pytest.raises(TemplateSyntaxError, match="nested more than"):
        compile_object_template(deep)
    assert template_problem({"fine": "profile@id"}) is None
