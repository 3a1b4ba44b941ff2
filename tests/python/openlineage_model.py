"""Checks an emitted OpenLineage event against openlineage-python's model of the spec.

openlineage-python ships its classes generated from the OpenLineage JSON schemas (required
fields, types, enums, each facet's `_schemaURL`, validators for times, UUIDs and URIs), not the
schema files themselves. An event is valid when it can be built as a `RunEvent` field by field —
no key the model does not know, no required key missing, every value of its declared type, each
facet a known facet class — and the built event serialises back (with the library's `Serde`) to
exactly the JSON Weir sent, which also proves each facet names its own schema URL.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated import (
    base,
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    sql_job,
    symlinks_dataset,
)
from openlineage.client.serde import Serde

# The facets Weir may emit, by the facet kind a dict holds and the facet's key.
FACETS: dict[type, dict[str, type]] = {
    base.JobFacet: {
        "sql": sql_job.SQLJobFacet,
        "jobType": job_type_job.JobTypeJobFacet,
    },
    base.RunFacet: {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "parent": parent_run.ParentRunFacet,
    },
    base.DatasetFacet: {
        "schema": schema_dataset.SchemaDatasetFacet,
        "symlinks": symlinks_dataset.SymlinksDatasetFacet,
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    },
    base.OutputDatasetFacet: {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
    },
    base.InputDatasetFacet: {},
}


class InvalidEvent(AssertionError):
    pass


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidEvent(f"{path}: expected an object for {cls.__name__}, got {data!r}")
    fields = {f.name: f for f in attr.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            raise InvalidEvent(f"{path}.{key}: {cls.__name__} has no such field")
        if not f.init:
            # Set by the class itself (a facet's _schemaURL): compared after the round trip.
            continue
        kwargs[f.alias] = _convert(hints[key], value, f"{path}.{key}")
    for f in fields.values():
        if f.init and f.default is attr.NOTHING and f.alias not in kwargs:
            raise InvalidEvent(f"{path}: {cls.__name__} needs '{f.name}'")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise InvalidEvent(f"{path}: {cls.__name__} refused the value: {e}") from e


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        if value is None:
            if type(None) in args:
                return None
            raise InvalidEvent(f"{path}: null is not allowed")
        if len(options) != 1:
            raise InvalidEvent(f"{path}: cannot check a union of {options}")
        return _convert(options[0], value, path)
    if origin is list:
        if not isinstance(value, list):
            raise InvalidEvent(f"{path}: expected an array, got {value!r}")
        return [_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidEvent(f"{path}: expected an object, got {value!r}")
        item = args[1]
        if item in FACETS:
            out = {}
            for k, v in value.items():
                facet = FACETS[item].get(k)
                if facet is None:
                    raise InvalidEvent(f"{path}.{k}: not a known {item.__name__}")
                out[k] = _build(facet, v, f"{path}.{k}")
            return out
        return {k: _convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError as e:
            raise InvalidEvent(f"{path}: {value!r} is not a {tp.__name__}") from e
    if isinstance(tp, type) and attr.has(tp):
        return _build(tp, value, path)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp is Any:
        ok = True
    else:
        raise InvalidEvent(f"{path}: cannot check type {tp!r}")
    if not ok:
        raise InvalidEvent(f"{path}: expected {tp.__name__}, got {value!r}")
    return value


def _same(back: Any, sent: Any, path: str) -> None:
    """`back` (the model's serialisation) says what `sent` said; it may add its own empty
    defaults (an empty list of nested fields) that were not sent."""
    if isinstance(back, dict) and isinstance(sent, dict):
        for k in sent:
            if k not in back:
                raise InvalidEvent(f"{path}.{k}: lost in the model")
            _same(back[k], sent[k], f"{path}.{k}")
        for k, v in back.items():
            if k not in sent and v not in ([], {}):
                raise InvalidEvent(f"{path}.{k}: the model adds {v!r}")
    elif isinstance(back, list) and isinstance(sent, list):
        if len(back) != len(sent):
            raise InvalidEvent(f"{path}: {len(back)} items in the model, {len(sent)} sent")
        for i, (b, s) in enumerate(zip(back, sent)):
            _same(b, s, f"{path}[{i}]")
    elif back != sent:
        raise InvalidEvent(f"{path}: the model has {back!r}, the event {sent!r}")


def validate_run_event(event: dict) -> RunEvent:
    """The event as openlineage-python's RunEvent; raises InvalidEvent when it does not fit."""
    built = _build(RunEvent, event, "event")
    _same(Serde.to_dict(built), event, "event")
    return built
