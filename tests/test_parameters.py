"""One source for each parameter: a flow's pydantic model (schemas/) gives its parameters'
names, types, bounds, defaults and descriptions to the flow's signature (and so to the
deployment's parameter schema that Prefect's UI and server check), to the command line's
options, and prefect.yaml sets only values that differ from the model's defaults."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from prefect.utilities.callables import parameter_schema
from pydantic import BaseModel

from claims_askes.cli.app import app
from deployments.project import DeploymentEntry, load_flow, read_project

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

ENTRIES = read_project()
# CLI options named apart from their field (kept as users have typed them).
RENAMED = {
    "lock_timeout": ("lock_timeout_seconds",),
    "schema": ("schema_name", "schemas"),
    "analyze": ("analyze_tables",),
    "reindex": ("reindex_schemas",),
}
CLI_ONLY = {"json_output"}


def model_of(entry: DeploymentEntry) -> type[BaseModel]:
    flow = load_flow(entry)
    model = getattr(flow.fn, "parameters_model", None)
    assert model is not None, f"{entry.name}: the flow does not take its parameters model"
    return model


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_flow_signature_is_its_model(entry: DeploymentEntry) -> None:
    model = model_of(entry)
    schema = parameter_schema(load_flow(entry)).model_dump()
    properties = schema["properties"]
    assert list(properties) == list(model.model_fields)
    model_schema = model.model_json_schema()["properties"]
    for name, field in model.model_fields.items():
        shown = properties[name]
        assert field.description, f"{entry.name}.{name} has no description"
        assert shown.get("description") == field.description, name
        if not field.is_required():
            assert shown.get("default") == model_schema[name].get("default"), name
        for bound in (
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "pattern",
            "enum",
        ):
            assert shown.get(bound) == model_schema[name].get(bound), (name, bound)


def run_commands() -> dict[str, Any]:
    """The `claims-askes run ...` commands as the command line parses them."""
    group: Any = typer.main.get_command(app)
    return dict(group.commands["run"].commands)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_command_line_options_are_the_models(entry: DeploymentEntry) -> None:
    command = run_commands()[entry.name]
    fields = model_of(entry).model_fields
    for param in command.params:
        if param.name in CLI_ONLY or param.name is None:
            continue
        name = next((n for n in RENAMED.get(param.name, ()) if n in fields), param.name)
        assert name in fields, f"run {entry.name} --{param.name}: no such parameter"
        field = fields[name]
        assert param.help == field.description, f"run {entry.name} --{param.name}"
        if param.param_type_name == "option" and not field.is_required():
            expected = field.get_default(call_default_factory=True)
            default = param.default
            assert default == expected or (expected == [] and default is None), (
                f"run {entry.name} --{param.name}: default {default!r}, model {expected!r}"
            )


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {
        name: f.get_default(call_default_factory=True)
        for name, f in model.model_fields.items()
        if not f.is_required()
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_prefect_yaml_sets_only_what_differs_from_the_model(entry: DeploymentEntry) -> None:
    model = model_of(entry)
    repeated = {k: v for k, v in entry.parameters.items() if defaults(model).get(k) == v}
    assert not repeated, f"{entry.name}: prefect.yaml repeats the model's defaults {repeated}"
    for schedule in entry.schedules or [{}]:
        values = {**entry.parameters, **schedule.get("parameters", {})}
        # A run of a deployment that sets nothing gets its values when started (a restore:
        # a backup id or a recovery target), so only what the file sets is checked here.
        if values and not any(f.is_required() for f in model.model_fields.values()):
            model(**values)  # every value the file sets is one the model accepts
