from types import SimpleNamespace

import pytest

from cache_sync.keys import KeyTemplate, TemplateSyntaxError


def test_a_template_renders_fields_and_forward_relations():
    product = SimpleNamespace(slug="jade-teapot", category=SimpleNamespace(slug="tea"))
    assert KeyTemplate.parse("category:{category.slug}").render(product) == "category:tea"
    assert KeyTemplate.parse("product:{slug}").render(product) == "product:jade-teapot"
    assert KeyTemplate.parse("home").render(product) == "home"


def test_a_missing_relation_renders_no_key():
    assert KeyTemplate.parse("category:{category.slug}").render(SimpleNamespace(category=None)) is None


def test_match_recovers_the_placeholder_values():
    assert KeyTemplate.parse("profile:{username}").match("profile:alice") == {"username": "alice"}
    assert KeyTemplate.parse("profile:{username}").match("product:alice") is None


@pytest.mark.parametrize("text", ["", "a:{", "a:{}", "a:{x[0]}", "a:{x:>3}", "a:{{x}}", 7])
def test_malformed_templates_are_refused(text):
    with pytest.raises(TemplateSyntaxError):
        KeyTemplate.parse(text)
