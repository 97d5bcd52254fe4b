-- The supervisors' view: logins, sessions and the audit log of the API (web/), campaign
-- topics, the coverage targets of the provinces' plans and the history of participation that
-- conversions are measured on. Schema only: the functions are in sql/functions/60_web.sql.

-- A password for the dashboard's login: "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX"
-- (campaigns/users.c). NULL: the user has only the API token. A disabled user keeps the rows
-- that name them (approvals, answers, the audit log) but is refused everywhere.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- A dashboard session: the cookie's value is shown to the browser only; the database keeps
-- its SHA-256, like the API tokens.
CREATE TABLE sessions (
    token_sha256 text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Every request that changed something (API and `campaign approve`): who, what, when. Written
-- in the same statement as the change, so there is no change without its row.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    user_name   text NOT NULL,
    action      text NOT NULL,                  -- "campaign.approve", "reply.answer", "login", …
    object      text,                           -- "campaign:12", "reply:7"
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at);

-- What a campaign is about, for coverage: general BHXH or voluntary BHXH.
ALTER TABLE campaigns ADD COLUMN topic text NOT NULL DEFAULT 'general'
    CHECK (topic IN ('general','voluntary'));

-- The plans' targets (`loa targets import`): per year, commune and topic, the working-age
-- population and the share of it to reach.
CREATE TABLE coverage_targets (
    year         int NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    commune_code text NOT NULL REFERENCES communes(code),
    topic        text NOT NULL DEFAULT 'general' CHECK (topic IN ('general','voluntary')),
    population   bigint NOT NULL CHECK (population >= 0),
    target_pct   numeric(5,2) NOT NULL CHECK (target_pct BETWEEN 0 AND 100),
    PRIMARY KEY (year, commune_code, topic)
);

-- Each change of a citizen's participation as imports write it (the trigger
-- citizens_participation_log of 60_web.sql). No foreign key: the bulk import drops and
-- rebuilds those of citizens.
CREATE TABLE participation_changes (
    citizen_id  bigint NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    old_value   text,
    new_value   text
);
CREATE INDEX participation_changes_citizen ON participation_changes (citizen_id, changed_at);
