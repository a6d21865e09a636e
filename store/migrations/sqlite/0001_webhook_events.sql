-- webhook_events: one row per accepted webhook event, keyed by (source, event_key).
-- SQLite has no timestamp type: times are TEXT in RFC 3339 UTC with exactly six
-- fractional digits (2006-01-02T15:04:05.000000Z), so they round-trip exactly
-- and sort lexically in time order. recorded_at has millisecond precision
-- (strftime's %f) padded to the same width.
CREATE TABLE webhook_events (
    source         TEXT NOT NULL,
    event_key      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    workflow_id    TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT webhook_events_pkey PRIMARY KEY (source, event_key),
    CONSTRAINT webhook_events_source_check CHECK (source IN ('calls', 'razorpay')),
    CONSTRAINT webhook_events_event_key_check CHECK (event_key <> ''),
    CONSTRAINT webhook_events_payload_sha256_check
        CHECK (length(payload_sha256) = 64 AND payload_sha256 NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT webhook_events_occurred_at_check CHECK (occurred_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT webhook_events_received_at_check CHECK (received_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
) STRICT, WITHOUT ROWID;
