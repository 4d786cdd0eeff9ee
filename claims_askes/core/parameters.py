"""A flow's parameters from its pydantic model: the model is the one source of each
parameter's name, type, bounds, default and description.

`@takes(Model)` gives the decorated function the model's fields as its keyword parameters.
Prefect reads that signature for the deployment's parameter schema, so the UI's custom-run
form shows each field's description and the server refuses a value out of bounds before a
run exists; the function itself receives one validated model, so checks that span fields
(a shard below the shard count) run before any step.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def signature_of(
    model: type[BaseModel], returns: Any = inspect.Signature.empty
) -> inspect.Signature:
    """The model's fields as keyword-only parameters: the type and its bounds as the
    annotation, the field itself (default and description) as the default, which is how
    Prefect reads a `param: T = Field(...)` parameter (a required field too: its default is
    then pydantic's "undefined", and the schema marks it required)."""
    parameters = []
    for name, field in model.model_fields.items():
        annotation = (
            Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        )
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=field, annotation=annotation
            )
        )
    return inspect.Signature(parameters, return_annotation=returns)


def takes(model: type[M]) -> Callable[[Callable[[M], R]], Callable[..., R]]:
    """Decorate a flow function of one argument, the model: callers (Prefect, the CLI, other
    flows) pass the model's fields as keywords."""

    def decorate(fn: Callable[[M], R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def with_fields(**values: Any) -> R:
            # A field left at its default arrives as the field itself when the function is
            # called past Prefect's binding (e.g. `flow.fn()`): the model fills it in.
            given = {k: v for k, v in values.items() if not isinstance(v, FieldInfo)}
            return fn(model(**given))

        returns = inspect.signature(fn, eval_str=True).return_annotation
        with_fields.__signature__ = signature_of(model, returns)  # type: ignore[attr-defined]
        with_fields.parameters_model = model  # type: ignore[attr-defined]
        with_fields.__annotations__ = {
            **{p.name: p.annotation for p in with_fields.__signature__.parameters.values()},  # type: ignore[attr-defined]
            "return": returns,
        }
        return with_fields

    return decorate


def cross_field_rules(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The model's rules that span fields, as JSON Schema: the `allOf` of its schema (set by
    the model's `json_schema_extra`). Prefect builds a deployment's parameter schema from the
    flow's signature, one field at a time, so `claims-askes deploy` adds these to each
    deployment's schema itself; the server then refuses a run that breaks one."""
    return list(model.model_json_schema().get("allOf", []))
