-- calls: one row per call, the latest snapshot of the call's workflow state.
-- A write carrying a lower revision than the stored row is stale and leaves
-- the row (and the call's transfers) as they are.
-- Times are TEXT in RFC 3339 UTC with six fractional digits, as in 0001.
-- started_at and ended_at are NULL while not known (a zero time in the Go
-- record). duration_seconds is NULL exactly when ended_at is NULL: the store
-- writes NULL for a call with no end time, whatever the snapshot's duration,
-- and the value otherwise; NULL reads back as 0.
-- Foreign keys are enforced: every connection sets PRAGMA foreign_keys(ON)
-- through the DSN.
CREATE TABLE calls (
    call_id              TEXT    NOT NULL,
    agent_id             TEXT    NOT NULL DEFAULT '',
    current_agent_id     TEXT    NOT NULL DEFAULT '',
    instance_id          TEXT    NOT NULL DEFAULT '',
    platform             TEXT    NOT NULL DEFAULT '',
    status               TEXT    NOT NULL,
    started_at           TEXT,
    ended_at             TEXT,
    duration_seconds     REAL,
    transcript           TEXT    NOT NULL DEFAULT '',
    sentiment            TEXT    NOT NULL DEFAULT '',
    summary              TEXT    NOT NULL DEFAULT '',
    disconnection_reason TEXT    NOT NULL DEFAULT '',
    revision             INTEGER NOT NULL,
    updated_at           TEXT    NOT NULL,
    CONSTRAINT calls_pkey PRIMARY KEY (call_id),
    CONSTRAINT calls_call_id_check CHECK (call_id <> ''),
    CONSTRAINT calls_status_check
        CHECK (status IN ('in_progress', 'transferred', 'ended', 'abandoned')),
    CONSTRAINT calls_revision_check CHECK (revision >= 1),
    CONSTRAINT calls_duration_seconds_check CHECK (duration_seconds IS NULL OR ended_at IS NOT NULL),
    CONSTRAINT calls_started_at_check CHECK (started_at IS NULL OR started_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT calls_ended_at_check CHECK (ended_at IS NULL OR ended_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT calls_updated_at_check CHECK (updated_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT, WITHOUT ROWID;

CREATE INDEX calls_status_idx ON calls (status);

-- call_transfers: a call's transfers, numbered 1, 2, … in event-time order.
-- The store replaces a call's whole list with every accepted snapshot.
-- context is the conversation context as JSON text, or ''.
CREATE TABLE call_transfers (
    call_id        TEXT    NOT NULL,
    sequence       INTEGER NOT NULL,
    event_key      TEXT    NOT NULL,
    from_agent_id  TEXT    NOT NULL DEFAULT '',
    to_agent_id    TEXT    NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    context        TEXT    NOT NULL DEFAULT '',
    transferred_at TEXT    NOT NULL,
    CONSTRAINT call_transfers_pkey PRIMARY KEY (call_id, sequence),
    CONSTRAINT call_transfers_call_id_event_key_key UNIQUE (call_id, event_key),
    CONSTRAINT call_transfers_call_id_fkey
        FOREIGN KEY (call_id) REFERENCES calls (call_id) ON DELETE CASCADE,
    CONSTRAINT call_transfers_sequence_check CHECK (sequence >= 1),
    CONSTRAINT call_transfers_transferred_at_check CHECK (transferred_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT, WITHOUT ROWID;
