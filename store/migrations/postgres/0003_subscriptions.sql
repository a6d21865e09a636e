-- subscriptions: one row per Razorpay subscription, the latest snapshot of the
-- subscription's workflow state. A write carrying a lower revision than the
-- stored row is stale and leaves the row as it is.
-- status is Razorpay's status, kept as sent (Razorpay may add statuses);
-- access is what the subscription grants, '' while not decided.
-- current_start, current_end and grace_until are NULL while not known (a zero
-- time in the Go record).
CREATE TABLE subscriptions (
    subscription_id         TEXT        NOT NULL,
    plan_id                 TEXT        NOT NULL DEFAULT '',
    customer_id             TEXT        NOT NULL DEFAULT '',
    status                  TEXT        NOT NULL,
    access                  TEXT        NOT NULL DEFAULT '',
    current_start           TIMESTAMPTZ,
    current_end             TIMESTAMPTZ,
    paid_count              BIGINT      NOT NULL DEFAULT 0,
    grace_until             TIMESTAMPTZ,
    last_failure_payment_id TEXT        NOT NULL DEFAULT '',
    last_failure_reason     TEXT        NOT NULL DEFAULT '',
    revision                BIGINT      NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    CONSTRAINT subscriptions_pkey PRIMARY KEY (subscription_id),
    CONSTRAINT subscriptions_subscription_id_check CHECK (subscription_id <> ''),
    CONSTRAINT subscriptions_status_check CHECK (status <> ''),
    CONSTRAINT subscriptions_access_check
        CHECK (access IN ('', 'granted', 'grace', 'suspended', 'revoked')),
    CONSTRAINT subscriptions_paid_count_check CHECK (paid_count >= 0),
    CONSTRAINT subscriptions_revision_check CHECK (revision >= 1)
);

CREATE INDEX subscriptions_customer_id_idx ON subscriptions (customer_id);

-- payments: one row per Razorpay payment (a subscription's charge), merged
-- from every event that names it. subscription_id is NULL while unknown, never
-- '', and has no foreign key: the payment may be written before its
-- subscription. A captured payment stays captured; empty fields never
-- overwrite known ones (see upsertPaymentSQL in the store).
-- amount is in the currency's smallest unit. created_at is Razorpay's, NULL
-- while not known.
-- invoice_id, token_id and customer_id name the subscription of later
-- payments that do not carry it.
CREATE TABLE payments (
    payment_id      TEXT        NOT NULL,
    subscription_id TEXT,
    amount          BIGINT      NOT NULL,
    currency        TEXT        NOT NULL DEFAULT '',
    status          TEXT        NOT NULL,
    failure_reason  TEXT        NOT NULL DEFAULT '',
    invoice_id      TEXT        NOT NULL DEFAULT '',
    customer_id     TEXT        NOT NULL DEFAULT '',
    token_id        TEXT        NOT NULL DEFAULT '',
    order_id        TEXT        NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT payments_pkey PRIMARY KEY (payment_id),
    CONSTRAINT payments_payment_id_check CHECK (payment_id <> ''),
    CONSTRAINT payments_subscription_id_check CHECK (subscription_id IS NULL OR subscription_id <> ''),
    CONSTRAINT payments_amount_check CHECK (amount >= 0),
    CONSTRAINT payments_status_check CHECK (status IN ('captured', 'failed'))
);

CREATE INDEX payments_subscription_id_idx ON payments (subscription_id, created_at);
CREATE INDEX payments_invoice_id_idx ON payments (invoice_id);
CREATE INDEX payments_token_id_idx ON payments (token_id);
CREATE INDEX payments_customer_id_idx ON payments (customer_id);
