"""The body of an API request as a dict: a JSON object, or form data; anything else is refused."""

from __future__ import annotations

import json
from decimal import Decimal

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class BadBody(Exception):
    """A body the API cannot read: 400 when malformed, 415 for a media type it does not take."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number this API takes")


def _json_object(request: HttpRequest) -> dict:
    charset = request.content_params.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise BadBody("JSON bodies are UTF-8.", status=415)
    try:
        # Decimal, never float: a price of 0.1 stays 0.1; NaN and Infinity are refused.
        data = json.loads(request.body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
        raise BadBody(f"Malformed JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise BadBody("The JSON body must be an object.")
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | list):
            raise BadBody(f"Field {name[:100]!r}: give a string or a number.")
        if not all(_encodable(text) for text in (name, *(value if isinstance(value, list) else [value]))):
            raise BadBody("Text must be valid Unicode (a \\uD800 escape names half a character).")
    return data


def _encodable(value) -> bool:
    """False for a string with a lone surrogate, which JSON escapes allow and no database can store."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_body(request: HttpRequest) -> dict:
    """The fields of a POST: a JSON object (`application/json`) or form data; {} for no body at all."""
    try:
        if request.content_type == "application/json":
            return _json_object(request)
        if request.content_type in FORM_TYPES:
            return {name: request.POST[name] for name in request.POST}
        if not request.content_type and not request.body:
            return {}
    except (RequestDataTooBig, TooManyFieldsSent, MultiPartParserError) as exc:
        raise BadBody(f"Unreadable body: {exc}") from None
    raise BadBody("Send application/json or form data.", status=415)
