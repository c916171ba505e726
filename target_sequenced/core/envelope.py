"""The system columns a RECORD message fills (contract sections 5 and 6), and their checks.

``version`` becomes ``_sdc_table_version`` (an integer), ``time_extracted``
becomes ``_sdc_extracted_at`` and the record's ``_sdc_deleted_at`` marks a
delete (both instants, or absent). The record itself must be an object.
"""

from __future__ import annotations

from target_sequenced.core.conversions import Check
from target_sequenced.core.datetimes import INSTANT, instant_sql
from target_sequenced.core.fields import INTEGER_TYPES, Fields, in_list
from target_sequenced.core.system import (
    BATCHED_AT,
    DELETED_AT,
    EXTRACTED_AT,
    RECEIVED_AT,
    TABLE_VERSION,
)


def _absent(type_expr: str) -> str:
    return f"({type_expr} IS NULL OR {type_expr} = 'NULL')"


def envelope_sql(fields: Fields) -> tuple[dict[str, str], list[Check], str]:
    """System column values, their checks, and the version expression (for ``_ignored``)."""
    record_type, version_type, extracted_type = (
        fields.slot(p) for p in ("/record", "/version", "/time_extracted")
    )
    version = fields.envelope("version")
    extracted = fields.envelope("time_extracted")
    # Read once, in the middle query, for the check and the value.
    instant = fields.lift(f"_i{len(fields.lifted)}", instant_sql(fields.unlifted(extracted)))
    deleted = fields.record_property(DELETED_AT, "VARCHAR")
    checks = [
        Check(f"({record_type} = 'OBJECT')", "#", "the record must be a JSON object"),
        Check(
            f"({_absent(version_type)} OR "
            f"({in_list(version_type, INTEGER_TYPES)} AND {version} IS NOT NULL))",
            "version",
            "the RECORD's version must be an integer in the signed 64-bit range",
        ),
        Check(
            f"({_absent(extracted_type)} OR "
            f"({extracted_type} = 'VARCHAR' AND {INSTANT.sql(extracted, instant)}))",
            "time_extracted",
            "the RECORD's time_extracted must be a date-time",
        ),
        Check(
            f"({_absent(deleted.type)} OR "
            f"({deleted.type} = 'VARCHAR' AND {INSTANT.sql(str(deleted.text))}))",
            f"#/{DELETED_AT}",
            "must be a date-time (it marks a delete)",
        ),
    ]
    values = {
        TABLE_VERSION: f"CASE WHEN {in_list(version_type, INTEGER_TYPES)} THEN {version} END",
        EXTRACTED_AT: f"CASE WHEN {extracted_type} = 'VARCHAR' THEN {instant} END",
        DELETED_AT: (
            f"CASE WHEN {deleted.type} = 'VARCHAR' THEN {instant_sql(str(deleted.text))} END"
        ),
        RECEIVED_AT: "CAST($received AS TIMESTAMPTZ)",
        BATCHED_AT: "CAST(NULL AS TIMESTAMPTZ)",
    }
    return values, checks, values[TABLE_VERSION]
