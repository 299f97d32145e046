import pytest

from ringrift_cli.store.events import EventSchemaError, append_event, check_payload, recent_events


def test_payload_must_match_schema_exactly():
    check_payload("job_retried", {"kind": "train", "previous_status": "dead"})
    with pytest.raises(EventSchemaError, match="missing"):
        check_payload("job_retried", {"kind": "train"})
    with pytest.raises(EventSchemaError, match="unexpected"):
        check_payload("job_retried", {"kind": "train", "previous_status": "dead", "config": "x"})
    with pytest.raises(EventSchemaError, match="expected"):
        check_payload("job_retried", {"kind": 3, "previous_status": "dead"})
    with pytest.raises(EventSchemaError, match="bool"):
        check_payload("breaker_closed", {"scope": "x"}) or check_payload(
            "jobs_purged", {"statuses": [], "older_than_seconds": 1, "count": True})
    with pytest.raises(EventSchemaError, match="unknown event type"):
        check_payload("games_maybe_recorded", {})


def test_bad_payload_is_not_written(store):
    with pytest.raises(EventSchemaError):
        with store.write() as conn:
            append_event(conn, "job_retried", {"kind": "train"})
    assert recent_events(store) == []


def test_event_dedup_key_writes_once(store):
    with store.write() as conn:
        first = append_event(conn, "breaker_closed", {"scope": "a"}, dedup_key="d1")
        second = append_event(conn, "breaker_closed", {"scope": "a"}, dedup_key="d1")
    assert first is not None and second is None
    assert len(recent_events(store)) == 1
