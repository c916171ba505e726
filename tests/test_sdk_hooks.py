"""Guards on the SDK internals we rely on; an SDK upgrade that changes them fails here."""

from __future__ import annotations

import inspect

from singer_sdk.sinks import Sink

from target_sequenced.singer.sink import SequencedSink
from tests.helpers import Db, lines, record, run_target, schema


def test_sdk_still_has_the_private_metadata_hook_we_override() -> None:
    params = list(inspect.signature(Sink._add_sdc_metadata_to_record).parameters)
    assert params == ["self", "record", "message", "context"]
    assert SequencedSink._add_sdc_metadata_to_record is not Sink._add_sdc_metadata_to_record


def test_sdk_calls_the_hook_with_the_message_envelope(db: Db, monkeypatch) -> None:
    seen: list[tuple[int, dict]] = []
    original = SequencedSink._add_sdc_metadata_to_record

    def spy(self, rec, message, context):
        seen.append((rec.get("_sdc_sequence"), message))
        return original(self, rec, message, context)

    monkeypatch.setattr(SequencedSink, "_add_sdc_metadata_to_record", spy)
    msg = record(
        "t", {"id": 1, "_sdc_sequence": 123}, version=4, time_extracted="2024-01-01T00:00:00Z"
    )
    # Records reach the sink (and this hook) when a stream map applies; without
    # one they go to the core in bulk.
    config = db.config(stream_maps={"t": {"__alias__": "t_mapped"}})
    run_target(config, lines(schema("t", {"id": {"type": "integer"}}), msg))
    assert len(seen) == 1
    assert seen[0][0] == 123  # the record's own sequence, before the SDK's clock could replace it
    assert seen[0][1]["version"] == 4
    (row,) = db.rows("t_mapped")
    assert (row["_sdc_sequence"], row["_sdc_table_version"]) == (123, 4)
