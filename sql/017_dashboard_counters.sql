-- The dashboard's figures from counters, as campaign_counters gives `campaign show` its own: a
-- breakdown or the coverage of a year over 1,000,000 messages answers from a few hundred rows
-- instead of recounting the messages joined to the citizens. The triggers that keep them are in
-- sql/functions/10_messages.sql (statement-level, with transition tables, in the same
-- transaction as each change); this migration creates them empty and fills them from the rows
-- that exist, live and archived (messages_all is not created yet:
-- views come after the migrations) (the counters, like campaign_counters, outlive archiving).
--
-- campaign_reach: per campaign, commune and target group ('' for none) of the citizen as the
-- citizens table has them now (a re-import that moves a citizen moves the counts), the citizens
-- with a message of the campaign (targeted) and those with a delivered one (reached): distinct
-- citizens, whatever the number of steps each went through.
CREATE TABLE campaign_reach (
    campaign_id  bigint NOT NULL,
    commune_code text NOT NULL,
    group_code   text NOT NULL,
    targeted     bigint NOT NULL DEFAULT 0,
    reached      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, commune_code, group_code)
);

-- campaign_days: per campaign and quarter of an hour (UTC) of coalesce(final_at, submitted_at),
-- the messages that reached a gateway (submitted_at set): all of them (n), those sent
-- (submitted, delivered, undelivered, in_doubt), delivered, and failed (failed, undelivered).
-- A quarter of an hour, so that a local day is exact in every time zone in use.
CREATE TABLE campaign_days (
    campaign_id bigint NOT NULL,
    at          timestamptz NOT NULL,
    n           bigint NOT NULL DEFAULT 0,
    sent        bigint NOT NULL DEFAULT 0,
    delivered   bigint NOT NULL DEFAULT 0,
    failed      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, at)
);

-- What the coverage of a year counts: the citizens with at least one delivered message about a
-- topic in the year, in the policy time zone, which the database does not know. A delivery at
-- least 12 hours after the UTC new year and more than 14 hours before the next is in that year
-- in every time zone (offsets run from -12 to +14 hours): coverage_reach counts those per
-- topic, year and citizen. The few near a new year are kept one by one in coverage_edge, with
-- their time, and the query places them in its own time zone. coverage_counts: per topic,
-- year, commune and group (of the citizen now), the citizens with coverage_reach.n > 0.
CREATE TABLE coverage_reach (
    topic      text NOT NULL,
    year       int NOT NULL,
    citizen_id bigint NOT NULL,
    n          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, year, citizen_id)
);
CREATE INDEX coverage_reach_citizen ON coverage_reach (citizen_id);
CREATE TABLE coverage_edge (
    topic      text NOT NULL,
    at         timestamptz NOT NULL,
    citizen_id bigint NOT NULL,
    n          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, at, citizen_id)
);
CREATE TABLE coverage_counts (
    topic        text NOT NULL,
    year         int NOT NULL,
    commune_code text NOT NULL,
    group_code   text NOT NULL,
    n            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, year, commune_code, group_code)
);

-- citizen_counts: the citizens on file per commune and group, against which coverage measures
-- the groups (the plans give no population per group).
CREATE TABLE citizen_counts (
    commune_code text NOT NULL,
    group_code   text NOT NULL,
    n            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (commune_code, group_code)
);

-- gateway_queue: per gateway, the messages waiting (pending, retry_wait) and in flight (leased),
-- which `campaign show` and the dashboard report for a campaign's gateways; a message's gateway
-- never changes once it is created.
CREATE TABLE gateway_queue (
    gateway text NOT NULL,
    state   text NOT NULL,
    n       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway, state)
);

-- ---- The existing rows ----
INSERT INTO campaign_reach (campaign_id, commune_code, group_code, targeted, reached)
SELECT p.campaign_id, c.commune_code, coalesce(c.group_code, ''), count(*), count(*) FILTER (WHERE p.delivered)
  FROM (SELECT campaign_id, citizen_id, bool_or(state = 'delivered') AS delivered
          FROM (SELECT campaign_id, citizen_id, state FROM messages
                UNION ALL SELECT campaign_id, citizen_id, state FROM archive.messages) m GROUP BY 1, 2) p
  JOIN citizens c ON c.id = p.citizen_id
 GROUP BY 1, 2, 3;

INSERT INTO campaign_days (campaign_id, at, n, sent, delivered, failed)
SELECT campaign_id, date_bin('15 minutes', coalesce(final_at, submitted_at), timestamptz '2000-01-01 00:00+00'),
       count(*), count(*) FILTER (WHERE state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')),
       count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state IN ('failed', 'undelivered'))
  FROM (SELECT * FROM messages UNION ALL SELECT * FROM archive.messages) m WHERE submitted_at IS NOT NULL
 GROUP BY 1, 2;

CREATE TEMP TABLE coverage_delivered ON COMMIT DROP AS
SELECT topic, at, citizen_id, n,
       at >= (date_trunc('year', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + interval '12 hours'
       AND at < ((date_trunc('year', at AT TIME ZONE 'UTC') + interval '1 year') AT TIME ZONE 'UTC') - interval '14 hours' AS sure
  FROM (SELECT k.topic, coalesce(m.final_at, m.submitted_at) AS at, m.citizen_id, count(*) AS n
  FROM (SELECT * FROM messages UNION ALL SELECT * FROM archive.messages) m JOIN campaigns k ON k.id = m.campaign_id
 WHERE m.state = 'delivered' AND coalesce(m.final_at, m.submitted_at) IS NOT NULL
 GROUP BY 1, 2, 3) d;
INSERT INTO coverage_reach (topic, year, citizen_id, n)
SELECT topic, extract(year FROM at AT TIME ZONE 'UTC')::int, citizen_id, sum(n)
  FROM coverage_delivered
 WHERE sure
 GROUP BY 1, 2, 3;
INSERT INTO coverage_edge (topic, at, citizen_id, n)
SELECT topic, at, citizen_id, n
  FROM coverage_delivered
 WHERE NOT sure;
INSERT INTO coverage_counts (topic, year, commune_code, group_code, n)
SELECT r.topic, r.year, c.commune_code, coalesce(c.group_code, ''), count(*)
  FROM coverage_reach r JOIN citizens c ON c.id = r.citizen_id
 GROUP BY 1, 2, 3, 4;

INSERT INTO citizen_counts (commune_code, group_code, n)
SELECT commune_code, coalesce(group_code, ''), count(*) FROM citizens GROUP BY 1, 2;

INSERT INTO gateway_queue (gateway, state, n)
SELECT gateway, state, count(*) FROM messages
 WHERE gateway IS NOT NULL AND state IN ('pending', 'retry_wait', 'leased')
 GROUP BY 1, 2;
