"""Helpers for documented, versioned Arrow schemas."""

from __future__ import annotations

import pyarrow as pa

DOC_KEY = b"doc"
VERSION_KEY = b"treemill.schema"


def documented(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    """An Arrow field whose description travels with the data (Parquet keeps field metadata)."""
    return pa.field(name, type_, nullable=nullable, metadata={DOC_KEY: doc.encode()})


def versioned(name: str, version: int, fields: list[pa.Field]) -> pa.Schema:
    """A schema tagged ``name/v<version>`` so readers can tell which layout a shard uses."""
    return pa.schema(fields, metadata={VERSION_KEY: f"{name}/v{version}".encode()})


def field_docs(schema: pa.Schema) -> dict[str, str]:
    """Field name -> description, for docs and dataset cards."""
    return {f.name: (f.metadata or {}).get(DOC_KEY, b"").decode() for f in schema}


def schema_tag(schema: pa.Schema) -> str:
    return (schema.metadata or {}).get(VERSION_KEY, b"").decode()
