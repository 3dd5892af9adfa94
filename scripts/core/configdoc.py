"""config/README.md's table of keys, made from the schema (each key's
description) and config/config.yaml (its default), so that the two never
drift apart from the page.

Usage: python -m scripts.core.configdoc [--check]
  rewrites the table between the page's markers, or with --check exits 1
  (naming the page) if it is out of date.
"""

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "config" / "README.md"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULTS = REPO / "config" / "config.yaml"
BEGIN, END = "<!-- keys: made by python -m scripts.core.configdoc -->", "<!-- /keys -->"


def default(value) -> str:
    """A default as the command line would spell it; mappings by their keys."""
    if isinstance(value, dict):
        return "(" + ", ".join(map(str, value)) + ")"
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("\n...").replace("|", "\\|").replace("\n", " ")


def table(schema: dict, defaults: dict) -> str:
    rows = ["| key | default | what it does |", "| --- | --- | --- |"]
    for key, spec in schema["properties"].items():
        text = " ".join(spec.get("description", "").split()).replace("|", "\\|")
        shown = f"`{default(defaults[key])}`" if key in defaults else "(none)"
        rows.append(f"| `{key}` | {shown} | {text} |")
    return "\n".join(rows)


def page_with_table(page: str, schema: dict, defaults: dict) -> str:
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(schema, defaults)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    schema, defaults = (yaml.safe_load(p.read_text()) for p in (SCHEMA, DEFAULTS))
    page = PAGE.read_text()
    made = page_with_table(page, schema, defaults)
    if argv == ["--check"]:
        if made != page:
            print(f"{PAGE}: its table of keys is out of date: run python -m "
                  "scripts.core.configdoc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(made)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
