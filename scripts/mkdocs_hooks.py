"""MkDocs hooks (mkdocs.yml `hooks:`): the pages that are generated from the code at build time, so that the
manual cannot drift from it and each fact keeps one home.

A page asks for a generated block with an HTML comment on a line of its own:

- `<!-- generated: settings -->`: every `Settings` field as a table row (variable, default, meaning), from the
  field's default and description (semsearch/settings.py is the one home of every default);
- `<!-- generated: openapi -->`: the HTTP API reference, rendered from the app's own OpenAPI schema (built offline
  from `create_app`, with both keys set so that each operation says which key it takes); the schema itself is
  published beside the page as `openapi.json`.

The functions are importable (tests/test_docs_site.py checks the settings table the way the README's was checked).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import SecretStr

MARKER = "<!-- generated: {} -->"
#: What a table shows where there is no value: an en dash, as the rest of the manual writes it.
NONE = "\N{EN DASH}"


def _cell(text: str) -> str:
    """Text that is safe inside one Markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())


def _literal(value: Any) -> str:
    """A default as a reader would type it in the environment: `10.0` stays `10.0`, `True` is `true`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def settings_table() -> str:
    """The configuration table: one row per `Settings` field. A literal default is in backticks; a field without
    one (None, an empty list) shows a dash, and its description says what unset means."""
    from semsearch.settings import Settings

    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = Settings.default(name)
        shown = NONE if default in (None, []) else f"`{_literal(default)}`"
        rows.append(f"| `SEMSEARCH_{name.upper()}` | {shown} | {_cell(field.description or '')} |")
    return "\n".join(rows)


@cache
def openapi_schema() -> dict[str, Any]:
    """The schema `GET /openapi.json` serves, built without a model or Milvus (the app opens those only when it
    starts), with both keys set so that every operation names the key it takes."""
    from search_api.app import create_app
    from semsearch.settings import Settings

    settings = Settings.model_construct(api_key=SecretStr("admin"), read_api_key=SecretStr("read"))
    return create_app(settings).openapi()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    """A schema's type in a few words: `string`, `integer (1..100)`, `SearchRequest` (linked), `array of Hit`."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#schema-{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{_literal(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{_literal(schema['const'])}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {_type(schema['additionalProperties'])}"
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if key in schema
    ]
    bounds += [
        f"{word} {schema[key]}" for key, word in (("minLength", "length ≥"), ("maxLength", "length ≤")) if key in schema
    ]
    return f"{kind} ({', '.join(bounds)})" if bounds else str(kind)


def _body_type(content: dict[str, Any]) -> str:
    return "; ".join(f"{_type(media.get('schema', {}))} (`{kind}`)" for kind, media in content.items())


def _operation(method: str, path: str, op: dict[str, Any], schemes: dict[str, Any]) -> list[str]:
    lines = [f"### {method.upper()} {path}", ""]
    if op.get("summary"):
        lines += [f"**{op['summary']}**", ""]
    if op.get("description"):
        lines += [op["description"].strip(), ""]
    keys = [name for requirement in op.get("security", []) for name in requirement]
    if schemes:
        words = {"bearer": "the admin key (`SEMSEARCH_API_KEY`)", "readKey": "the read key (`SEMSEARCH_READ_API_KEY`)"}
        lines += [f"Key: {' or '.join(words.get(k, k) for k in keys) if keys else 'none'}.", ""]
    if params := op.get("parameters"):
        lines += ["| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        for param in params:
            schema = param.get("schema", {})
            description = param.get("description") or schema.get("description") or ""
            required = "yes" if param.get("required") else "no"
            lines.append(f"| `{param['name']}` | {param['in']} | {required} | {_type(schema)} | {_cell(description)} |")
        lines.append("")
    if body := op.get("requestBody"):
        lines += [f"Request body: {_body_type(body.get('content', {}))}.", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, response in op.get("responses", {}).items():
        body = _body_type(response.get("content", {})) if response.get("content") else NONE
        lines.append(f"| {status} | {_cell(response.get('description', ''))} | {body} |")
    return [*lines, ""]


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{ #schema-{name.lower()} }}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {_type(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | default | description |", "|---|---|---|---|---|"]
    for field, spec in properties.items():
        default = f"`{_literal(spec['default'])}`" if "default" in spec else NONE
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | {_cell(default)} "
            f"| {_cell(spec.get('description', ''))} |"
        )
    return [*lines, ""]


def openapi_reference() -> str:
    """Every operation (its key, parameters, body and answers), then every schema with its fields."""
    schema = openapi_schema()
    schemes = schema.get("components", {}).get("securitySchemes", {})
    lines = [f"## Operations (version {schema['info']['version']})", ""]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            lines += _operation(method, path, op, schemes)
    lines += ["## Schemas", ""]
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += _schema(name, spec)
    return "\n".join(lines)


GENERATORS = {"settings": settings_table, "openapi": openapi_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace each `<!-- generated: NAME -->` line with what NAME's generator writes."""
    for name, generate in GENERATORS.items():
        if MARKER.format(name) in markdown:
            markdown = markdown.replace(MARKER.format(name), generate())
    return markdown


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Publish the schema the reference was rendered from as `openapi.json`, for tools and for download."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, "openapi.json", content=json.dumps(openapi_schema(), indent=2)))
    return files
