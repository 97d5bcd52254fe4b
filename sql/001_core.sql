-- loa core schema. Applied by `loa db migrate`; each file sql/NNN_*.sql runs once, in name
-- order, inside one transaction, and is recorded in schema_migrations. A released migration is
-- never edited: a change of schema is a new file. Functions, triggers and views are not here but
-- in sql/functions/, applied again by every `loa db migrate`.

-- Administrative units. Since 1 July 2025 there are two levels: province and commune.
CREATE TABLE provinces (
    code        text PRIMARY KEY,
    name        text NOT NULL
);
CREATE TABLE communes (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    province_code   text NOT NULL REFERENCES provinces(code),
    legacy_district text,
    synthetic       boolean NOT NULL DEFAULT false
);
CREATE TABLE target_groups (
    code        text PRIMARY KEY,
    label_vi    text NOT NULL,
    label_en    text NOT NULL
);
CREATE TABLE languages (
    code        text PRIMARY KEY,
    name        text NOT NULL
);
INSERT INTO languages VALUES ('vi','Tiếng Việt'),('km','Khmer'),('bdq','Bahnar'),('jra','Jrai');

CREATE TABLE citizens (
    id                  bigserial PRIMARY KEY,
    full_name           text NOT NULL,
    phone               text CHECK (phone ~ '^84[0-9]{9}$'),      -- E.164 without '+'
    carrier             text,                                     -- from the prefix: a hint
    commune_code        text NOT NULL REFERENCES communes(code),
    province_code       text NOT NULL REFERENCES provinces(code),
    gender              text CHECK (gender IN ('male','female')),
    birth_date          date,
    group_code          text REFERENCES target_groups(code),
    language            text NOT NULL DEFAULT 'vi' REFERENCES languages(code),
    bhxh_code           text UNIQUE CHECK (bhxh_code ~ '^[0-9]{10}$'),
    participation       text CHECK (participation IN ('none','voluntary','compulsory','stopped')),
    voluntary_due_date  date,
    zalo_user_id        text,
    has_zalo            boolean,            -- NULL: unknown; false once Zalo said -118
    phone_invalid       boolean NOT NULL DEFAULT false,
    tags                text[] NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Without a BHXH code a citizen is known by phone and name.
CREATE UNIQUE INDEX citizens_phone_name ON citizens (phone, full_name) WHERE bhxh_code IS NULL;
CREATE INDEX citizens_phone ON citizens (phone);
CREATE INDEX citizens_zalo ON citizens (zalo_user_id) WHERE zalo_user_id IS NOT NULL;

-- An opt-out is per citizen and channel ('sms', 'zalo' or 'all'), with when and why.
CREATE TABLE opt_outs (
    citizen_id  bigint NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('sms','zalo','all')),
    source      text NOT NULL,            -- 'sms_reply', 'zalo_reply', 'import', 'officer', …
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (citizen_id, channel)
);

CREATE TABLE segments (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    filter      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE templates (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    channel         text NOT NULL CHECK (channel IN ('sms','zns')),
    unaccent        boolean NOT NULL DEFAULT false,
    zns_template_id text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One body per language; a citizen gets the variant of their language, else 'vi'.
CREATE TABLE template_variants (
    template_id bigint NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    language    text NOT NULL REFERENCES languages(code),
    body        text NOT NULL,
    PRIMARY KEY (template_id, language)
);

CREATE TABLE campaigns (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    segment_id      bigint NOT NULL REFERENCES segments(id),
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft','scheduled','running','paused','completed','cancelled')),
    starts_at       timestamptz,
    ends_at         timestamptz,
    window_start    time,                   -- NULL: the policy window
    window_end      time,
    needs_approval  boolean NOT NULL DEFAULT false,
    approved_by     text,
    approved_at     timestamptz,
    targeted        bigint NOT NULL DEFAULT 0,
    -- Materialisation walks citizens in id order; the cursor makes it resumable after a crash.
    materialised    boolean NOT NULL DEFAULT false,
    material_cursor bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    completed_at    timestamptz
);
-- The channels of a campaign, tried in position order; each later one is a fallback.
CREATE TABLE campaign_channels (
    campaign_id bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('sms','zalo')),
    template_id bigint NOT NULL REFERENCES templates(id),
    gateway     text,                       -- NULL: the first configured gateway of the channel
    PRIMARY KEY (campaign_id, position)
);

CREATE SEQUENCE messages_id_seq;

-- One row per citizen per campaign per channel step. Partitioned by campaign so that a finished
-- campaign can be archived by detaching its partition (see campaign_partition_ensure()).
CREATE TABLE messages (
    id              bigint NOT NULL DEFAULT nextval('messages_id_seq'),
    campaign_id     bigint NOT NULL,
    citizen_id      bigint NOT NULL,
    step            smallint NOT NULL DEFAULT 0,
    channel         text NOT NULL CHECK (channel IN ('sms','zalo')),
    gateway         text,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN
                    ('pending','leased','submitted','delivered','undelivered','retry_wait',
                     'failed','in_doubt','fallback','suppressed','expired','cancelled')),
    attempts        smallint NOT NULL DEFAULT 0,
    due_at          timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    parts           smallint NOT NULL DEFAULT 0,
    cost_vnd        integer NOT NULL DEFAULT 0,
    gateway_msg_id  text,
    reason          text,                   -- why suppressed / failed / fallback
    created_at      timestamptz NOT NULL DEFAULT now(),
    submitted_at    timestamptz,
    final_at        timestamptz,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, citizen_id, step)
) PARTITION BY LIST (campaign_id);
CREATE INDEX messages_due ON messages (gateway, due_at) WHERE state IN ('pending','retry_wait');
CREATE INDEX messages_leased ON messages (lease_until) WHERE state = 'leased';
CREATE INDEX messages_citizen ON messages (citizen_id, created_at);
CREATE INDEX messages_gateway_msg ON messages (gateway, gateway_msg_id) WHERE gateway_msg_id IS NOT NULL;

-- Counters per campaign, channel and message state, kept by the trigger messages_count
-- (sql/functions/10_messages.sql) in the same transaction as every change of state: the
-- statistics are never recounted from logs.
CREATE TABLE campaign_counters (
    campaign_id bigint NOT NULL,
    channel     text NOT NULL,
    state       text NOT NULL,
    n           bigint NOT NULL DEFAULT 0,
    parts       bigint NOT NULL DEFAULT 0,
    cost_vnd    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, channel, state)
);

-- Delivery reports and receipts exactly as they came: append-only, never updated.
CREATE TABLE delivery_events (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    gateway     text NOT NULL,
    campaign_id bigint,
    message_id  bigint,
    kind        text NOT NULL,              -- 'dlr', 'zns_receipt', 'callback', …
    status      text,
    raw         text NOT NULL
);
CREATE INDEX delivery_events_message ON delivery_events (campaign_id, message_id);

-- What citizens write back, by SMS or Zalo.
CREATE TABLE replies (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    channel     text NOT NULL CHECK (channel IN ('sms','zalo')),
    gateway     text NOT NULL,
    external_id text,                       -- the gateway's id, for de-duplication
    from_addr   text NOT NULL,              -- 84… phone or Zalo user id
    citizen_id  bigint REFERENCES citizens(id) ON DELETE SET NULL,
    campaign_id bigint REFERENCES campaigns(id) ON DELETE SET NULL,
    body        text NOT NULL,
    intent      text NOT NULL DEFAULT 'other' CHECK (intent IN ('stop','ask','register','other')),
    answered_at timestamptz,
    answered_by text,
    answer      text
);
CREATE UNIQUE INDEX replies_external ON replies (gateway, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX replies_campaign ON replies (campaign_id);

-- Durable state a gateway must not lose across restarts (Zalo tokens, quotas, …).
CREATE TABLE gateway_state (
    gateway     text NOT NULL,
    key         text NOT NULL,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway, key)
);

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('officer','supervisor','admin')),
    token_sha256 text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
