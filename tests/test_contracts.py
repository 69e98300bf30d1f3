"""The JSON Schemas in `schemas/` and the pydantic models in `services.events` state one contract.

Every example under `schemas/examples/<event>/{valid,invalid}/` is judged by the JSON Schema
(Draft 2020-12, with jsonschema's format checker) and by the model
(`Model.model_validate(orjson.loads(raw))`, as ingest does), and both verdicts must equal the
folder's. An invalid example may carry `x-model-only` (ignored by both validators as an unknown
field): it breaks a rule JSON Schema cannot express (e.g. low <= open, close <= high across
fields), so the schema accepts it and the model rejects it.

jsonschema has no `date-time` format checker unless an optional package (rfc3339-validator) is
installed, so every time field also carries a `pattern` that requires an RFC 3339 date-time with a
zone; the tests therefore do not depend on that package being present.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import orjson
import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.events import Announcement, Price, Signal, UtcDatetime
from tests.schemas import SCHEMAS, load_schema, validator

EXAMPLES = SCHEMAS / "examples"
MODELS: dict[str, type[BaseModel]] = {
    "announcement": Announcement,
    "price": Price,
    "signal": Signal,
}
MODEL_ONLY = "x-model-only"


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*/*/*.json"))


def example_id(path: Path) -> str:
    return "/".join(path.relative_to(EXAMPLES).with_suffix("").parts)


def event_of(path: Path) -> str:
    return path.relative_to(EXAMPLES).parts[0]


def expected_valid(path: Path) -> bool:
    verdict = path.relative_to(EXAMPLES).parts[1]
    assert verdict in ("valid", "invalid"), f"{path}: folder must be valid/ or invalid/"
    return verdict == "valid"


def load_example(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def schema_accepts(path: Path) -> bool:
    return validator(event_of(path)).is_valid(load_example(path))


def model_accepts(path: Path) -> bool:
    try:
        MODELS[event_of(path)].model_validate(orjson.loads(path.read_bytes()))
    except ValidationError:
        return False
    return True


def marker(path: Path, key: str) -> str | None:
    doc = load_example(path)
    value = doc.get(key) if isinstance(doc, dict) else None
    assert value is None or isinstance(value, str), f"{path}: {key} must be a reason string"
    return value


EXAMPLE_PARAMS = [pytest.param(path, id=example_id(path)) for path in example_files()]


# ---- the schemas themselves


@pytest.mark.parametrize("event", MODELS)
def test_schema_is_a_valid_draft_2020_12_schema(event: str) -> None:
    schema = load_schema(event)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:market-reaction:schema:{event}:v1"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("event", MODELS)
def test_every_property_has_a_description(event: str) -> None:
    properties = load_schema(event)["properties"]
    assert [name for name, spec in properties.items() if not spec.get("description")] == []


@pytest.mark.parametrize("event", MODELS)
def test_schema_properties_are_the_model_fields(event: str) -> None:
    properties = set(load_schema(event)["properties"])
    fields = set(MODELS[event].model_fields)
    assert sorted(fields - properties) == [], "model fields missing from the schema"
    assert sorted(properties - fields) == [], "schema properties missing from the model"


@pytest.mark.parametrize("event", MODELS)
def test_schema_required_is_the_fields_without_defaults(event: str) -> None:
    required = load_schema(event)["required"]
    fields = MODELS[event].model_fields
    assert len(required) == len(set(required)), "duplicates in required"
    assert sorted(required) == sorted(name for name, f in fields.items() if f.is_required())


@pytest.mark.parametrize("event", MODELS)
def test_schema_defaults_are_the_model_defaults(event: str) -> None:
    properties = load_schema(event)["properties"]
    for name, field in MODELS[event].model_fields.items():
        if field.is_required():
            assert "default" not in properties[name], name
        else:
            assert "default" in properties[name], name
            model_default = orjson.loads(orjson.dumps(field.get_default(call_default_factory=True)))
            assert properties[name]["default"] == model_default, name


def literal_values(annotation: Any) -> set[Any] | None:
    """The values of the Literal inside an annotation (through Optional/Annotated), or None."""
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        found = [literal_values(arg) for arg in get_args(annotation)]
        return set().union(*(v for v in found if v is not None)) if any(found) else None
    return None


@pytest.mark.parametrize("event", MODELS)
def test_schema_enums_are_the_model_literals(event: str) -> None:
    properties = load_schema(event)["properties"]
    checked = 0
    for name, field in MODELS[event].model_fields.items():
        values = literal_values(field.annotation)
        if values is None:
            assert "enum" not in properties[name], name
            continue
        nullable = field.is_required() is False and field.get_default() is None
        assert set(properties[name]["enum"]) == values | ({None} if nullable else set()), name
        checked += 1
    assert checked > 0


# ---- the examples


@pytest.mark.parametrize("event", MODELS)
def test_each_event_has_enough_examples(event: str) -> None:
    valid = list((EXAMPLES / event / "valid").glob("*.json"))
    invalid = list((EXAMPLES / event / "invalid").glob("*.json"))
    agreed = [p for p in invalid if not marker(p, MODEL_ONLY)]
    assert len(valid) >= 4
    assert len(agreed) >= 6, "at least 6 invalid examples on which schema and model agree"


def test_every_example_belongs_to_a_known_event() -> None:
    paths = example_files()
    assert paths
    assert {event_of(p) for p in paths} == set(MODELS)
    assert {p.relative_to(EXAMPLES).parts[1] for p in paths} == {"valid", "invalid"}


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
def test_example_markers_are_used_honestly(path: Path) -> None:
    doc = load_example(path)
    assert isinstance(doc, dict), "an event is a JSON object"
    if MODEL_ONLY in doc:
        assert not expected_valid(path), f"{MODEL_ONLY} belongs in invalid/ only"
        assert marker(path, MODEL_ONLY), "give the reason"


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
def test_schema_verdict(path: Path) -> None:
    expected = expected_valid(path) or marker(path, MODEL_ONLY) is not None
    errors = [e.message for e in validator(event_of(path)).iter_errors(load_example(path))]
    assert (not errors) == expected, errors


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
def test_model_verdict(path: Path) -> None:
    assert model_accepts(path) == expected_valid(path)


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
def test_schema_and_model_agree_unless_marked(path: Path) -> None:
    if marker(path, MODEL_ONLY):
        assert (schema_accepts(path), model_accepts(path)) == (True, False)
    else:
        assert schema_accepts(path) == model_accepts(path)


def schema_blame(path: Path) -> set[str]:
    """Top-level fields the JSON Schema rejects ("" for the object as a whole)."""
    blamed = set()
    for error in validator(event_of(path)).iter_errors(load_example(path)):
        if error.path:
            blamed.add(str(error.path[0]))
        elif error.validator == "required":
            assert isinstance(error.instance, dict)
            blamed.update(name for name in error.validator_value if name not in error.instance)
        else:
            blamed.add("")
    return blamed


def model_blame(path: Path) -> set[str]:
    """Top-level fields the model rejects ("" for the object as a whole)."""
    try:
        MODELS[event_of(path)].model_validate(load_example(path))
    except ValidationError as exc:
        return {str(e["loc"][0]) if e["loc"] else "" for e in exc.errors()}
    return set()


INVALID_AGREED = [
    pytest.param(path, id=example_id(path))
    for path in example_files()
    if not expected_valid(path) and not marker(path, MODEL_ONLY)
]


@pytest.mark.parametrize("path", INVALID_AGREED)
def test_schema_and_model_reject_for_the_same_field(path: Path) -> None:
    schema, model = schema_blame(path), model_blame(path)
    assert schema & model, f"schema blames {schema}, model blames {model}"


# ---- times: the schema's pattern against the model's parser


TIMES_CONTRACT = [
    ("2025-07-07T16:04:00Z", True),
    ("2025-07-08T01:04:00+09:00", True),
    ("2025-07-07T12:04:00-04:00", True),
    ("2025-07-07T16:04:00.512Z", True),
    ("2025-07-07t16:04:00z", True),
    ("2024-02-29T00:00:00Z", True),
    ("2025-07-07T16:04:00", False),
    ("2025-07-07", False),
    ("2025-07-07T16:04:00+09", False),
    ("2025-07-07T24:00:00Z", False),
    ("2025-07-07T16:04:60Z", False),
    ("2025-13-07T16:04:00Z", False),
    ("2025-04-31T16:04:00Z", False),
    ("0000-01-01T00:00:00Z", False),
    ("2025-07-07T16:04:00+24:00", False),
    ("", False),
    ("2025-07-07 16:04:00Z", False),  # space instead of T
    ("2025-07-07_16:04:00Z", False),  # underscore instead of T
    ("2025-07-07T16:04Z", False),  # seconds missing
    ("2025-07-07T16:04:00+0900", False),  # offset without a colon
    ("1751904240", False),  # Unix seconds in a string
    ("1970-01-01T00:00:00+14:00", True),  # first year, in its own zone
    ("2199-12-31T23:59:59-14:00", True),  # last year, in its own zone
    ("1969-12-31T23:59:59Z", False),  # before the first year
    ("2200-01-01T00:00:00Z", False),  # after the last year
    ("9999-12-31T23:59:59-14:00", False),  # would overflow in UTC
    ("0001-01-01T00:00:00+14:00", False),  # would underflow in UTC
]
TIME_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$ref": "#/$defs/utcTime",
    "$defs": load_schema("announcement")["$defs"],
}


def time_schema_accepts(value: str) -> bool:
    checker = Draft202012Validator.FORMAT_CHECKER
    return Draft202012Validator(TIME_SCHEMA, format_checker=checker).is_valid(value)


def time_model_accepts(value: str) -> bool:
    try:
        TypeAdapter(UtcDatetime).validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("event", MODELS)
def test_every_schema_has_the_same_time_definition(event: str) -> None:
    assert load_schema(event)["$defs"]["utcTime"] == TIME_SCHEMA["$defs"]["utcTime"]


@pytest.mark.parametrize(("value", "valid"), TIMES_CONTRACT)
def test_time_pattern_and_model_parser_agree(value: str, valid: bool) -> None:
    assert (time_schema_accepts(value), time_model_accepts(value)) == (valid, valid)


def test_feb_29_in_a_non_leap_year_is_model_only() -> None:
    assert time_schema_accepts("2025-02-29T00:00:00Z") is True
    assert time_model_accepts("2025-02-29T00:00:00Z") is False


def test_effective_at_takes_a_full_date() -> None:
    spec = load_schema("announcement")["properties"]["effective_at"]
    checker = Draft202012Validator.FORMAT_CHECKER
    check = Draft202012Validator(
        {**spec, "$defs": TIME_SCHEMA["$defs"]}, format_checker=checker
    ).is_valid
    assert check("2025-08-01")
    assert check("2025-08-01T04:01:00Z")
    assert check(None)
    assert not check("2025-08-32")
    assert not check("2025-8-1")
    parsed = Announcement.model_validate(
        {
            "id": "a",
            "published_at": "2025-07-07T16:04:00Z",
            "targets": ["KR"],
            "headline": "h",
            "effective_at": "2025-08-01",
        }
    )
    assert parsed.effective_at == date(2025, 8, 1)
