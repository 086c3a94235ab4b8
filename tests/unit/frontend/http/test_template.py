"""Path templates: parsing the google.api.http grammar and binding path segments to fields."""

from __future__ import annotations

import re

import pytest

from frontend.http.template import TemplateError, parse


def split(path: str) -> list[str]:
    return path[1:].split("/")


def test_variables_bind_nested_field_paths() -> None:
    template = parse("/api/v1/namespaces/{namespace}/workflows/{workflow_execution.workflow_id}")

    params = template.match(split("/api/v1/namespaces/default/workflows/order 7"), "")

    assert params == {"namespace": "default", "workflow_execution.workflow_id": "order 7"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/default/workflows",  # one segment short
        "/api/v1/namespaces/default/workflows/a/b",  # a variable is one segment
        "/api/v1/namespaces/default/activities/a",  # literal differs
        "/api/v1/namespaces/default/workflows/a/",  # trailing slash is an empty segment
    ],
)
def test_paths_that_do_not_fit_do_not_match(path: str) -> None:
    template = parse("/api/v1/namespaces/{namespace}/workflows/{workflow_id}")

    assert template.match(split(path), "") is None


def test_a_variable_with_a_sub_pattern_captures_every_segment_of_it() -> None:
    template = parse("/v1/{name=shelves/*/books/*}")

    assert template.match(split("/v1/shelves/s1/books/b2"), "") == {"name": "shelves/s1/books/b2"}
    assert template.match(split("/v1/shelves/s1/novels/b2"), "") is None


def test_a_deep_wildcard_takes_the_rest_and_literals_after_it_still_match() -> None:
    template = parse("/files/{path=**}/raw")

    assert template.match(split("/files/a/b/c/raw"), "") == {"path": "a/b/c"}
    assert template.match(split("/files/raw"), "") == {"path": ""}
    assert template.match(split("/files/a/b"), "") is None


def test_a_verb_must_be_given_to_match() -> None:
    template = parse("/v1/{name}:cancel")

    assert template.verb == "cancel"
    assert template.match(split("/v1/op-1"), "cancel") == {"name": "op-1"}
    assert template.match(split("/v1/op-1"), "") is None


@pytest.mark.parametrize(
    "text",
    ["no-slash", "/a/{b", "/a/b}", "/a/{b.}", "/a//b", "/a/{x=**}/{y=**}", "/a/{1x}", "/a/b:"],
)
def test_malformed_templates_are_refused_naming_them(text: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(repr(text))):
        parse(text)
