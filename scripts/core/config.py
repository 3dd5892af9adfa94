"""The workflow's configuration: command-line values read as YAML, and a
check against the schema whose every error names the key.

Snakemake hands `--config allow_shared_cpus=true` over as the string
"true" (it reads only True and False as booleans) and `clients=[1,8]` as a
list of strings. Written that way in config.yaml they would be YAML, so
here a string (or a list's string item) is read as YAML wherever the
schema does not accept a string at that place: true is a boolean, [1,8] are
numbers, null is nothing, and a message or a rate stays as written.
"""

import shlex
import string

import jsonschema
import yaml

# How to write an accepted value, by JSON-schema type, for error messages.
SPELLING = {"boolean": "true or false", "integer": "a whole number, e.g. 4",
            "number": "a number, e.g. 0.5", "null": "null", "string": "text",
            "array": "a list, e.g. [1,8]", "object": "a mapping"}


class ConfigError(ValueError):
    """A config value the schema does not accept; the message names its key."""


def types(schema: dict) -> set[str]:
    """The JSON types a schema accepts at its top level."""
    if "oneOf" in schema or "anyOf" in schema:
        return set().union(*(types(s) for s in schema.get("oneOf", schema.get("anyOf"))))
    kind = schema.get("type", [])
    return set(kind if isinstance(kind, list) else [kind])


def item_schemas(schema: dict) -> list[dict]:
    """The schemas a list's items may follow."""
    options = schema.get("oneOf", schema.get("anyOf", [schema]))
    return [o["items"] for o in options if "items" in o]


def as_yaml(value, schema: dict):
    """value read as YAML where schema takes no string there."""
    if value in ("null", "~") and "null" in types(schema):
        return None
    if isinstance(value, str) and "string" not in types(schema):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value  # left for the check to name
    if isinstance(value, list):
        items = item_schemas(schema)
        if items and not any("string" in types(i) for i in items):
            return [as_yaml(v, items[0]) for v in value]
    return value


def typed(config: dict, schema: dict) -> dict:
    """config with every command-line string read as YAML where it must be."""
    props = schema.get("properties", {})
    return {key: as_yaml(value, props[key]) if key in props else value
            for key, value in config.items()}


def check(config: dict, schema: dict) -> None:
    """Raises ConfigError naming the key of the first value the schema
    refuses, and how an accepted value is written."""
    for error in sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                        key=lambda e: list(e.absolute_path)):
        # A value none of whose forms fits: where one form failed on what
        # is inside the value (an item, a pattern, emptiness), say that.
        inside = [e for e in error.context or []
                  if e.relative_path or e.validator in ("pattern", "minItems")]
        if inside:
            error = jsonschema.exceptions.best_match(inside)
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        # A text of the right type that matches none of its forms' patterns
        # (a duration of zero is neither a duration nor a name): each form.
        forms = [e.schema["description"] for e in patterns(error)]
        if forms:
            raise ConfigError(f"config key {key}: {error.instance!r} is not "
                              + ", nor ".join(dict.fromkeys(forms)))
        hint = spelling(error.schema) if isinstance(error.schema, dict) else ""
        raise ConfigError(f"config key {key}: {error.message}"
                          + (f" (write {hint})" if hint else ""))


def patterns(error) -> list:
    """The pattern errors, with a description of what they ask, of error
    and of the forms of a value it tried (nested oneOf and anyOf)."""
    if error.validator == "pattern" and "description" in error.schema:
        return [error]
    return [p for e in error.context or [] if not e.relative_path for p in patterns(e)]


def spelling(schema: dict) -> str:
    """How values the schema accepts are written: its choices, else its types."""
    options = schema.get("oneOf", schema.get("anyOf", [schema]))
    choices = [c for o in options for c in o.get("enum", [])]
    if choices:
        listed = "array" in types(schema)
        return (f"one of {', '.join(dict.fromkeys(choices))}"
                + (", a list of them" if listed else "")
                + (", or null" if "null" in types(schema) else ""))
    return " or ".join(SPELLING[t] for t in sorted(types(schema)) if t in SPELLING)


def check_command(name: str, command: str) -> None:
    """A server's command line as the measurement will run it: words
    (shell quoting, no shell), {bin} its only placeholder. Checked before
    any job, not when the server's first cell starts."""
    key = f"config key server_defs.{name}.command"
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(command) if field}
        words = shlex.split(command.format(bin="bin") if fields <= {"bin"} else command)
    except ValueError as exc:
        raise ConfigError(f"{key}: {command!r} is not a command line ({exc})") from None
    if fields - {"bin"}:
        raise ConfigError(f"{key}: unknown placeholder "
                          f"{', '.join(f'{{{f}}}' for f in sorted(fields - {'bin'}))} "
                          "(the only one is {bin}, the folder of the built programs)")
    if not words:
        raise ConfigError(f"{key}: empty (give the command that starts the server)")
