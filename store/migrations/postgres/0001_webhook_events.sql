-- webhook_events: one row per accepted webhook event, keyed by (source, event_key).
-- Times are TIMESTAMPTZ (microsecond precision); the store writes them in UTC.
CREATE TABLE webhook_events (
    source         TEXT        NOT NULL,
    event_key      TEXT        NOT NULL,
    event_type     TEXT        NOT NULL,
    workflow_id    TEXT        NOT NULL,
    payload_sha256 TEXT        NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT webhook_events_pkey PRIMARY KEY (source, event_key),
    CONSTRAINT webhook_events_source_check CHECK (source IN ('calls', 'razorpay')),
    CONSTRAINT webhook_events_event_key_check CHECK (event_key <> ''),
    CONSTRAINT webhook_events_payload_sha256_check
        CHECK (length(payload_sha256) = 64 AND payload_sha256 ~ '^[0-9a-f]+$')
);
