-- Campaign lifecycle, the officers' answers to replies, and the indexes of statistics and
-- reports. Owned by campaigns/ (campaign.c, replies.c, stats.c, report.c).

-- `resume` returns a paused campaign to the status it was paused from: scheduled (nothing
-- materialised yet) or running.
ALTER TABLE campaigns ADD COLUMN paused_from text
    CHECK (paused_from IN ('scheduled','running'));

-- An officer's answer to a citizen's reply, to be sent by the daemon (NOTIFY loa_answers with
-- the id) on the channel and gateway the reply came from. Tracked like any message: pending
-- until the gateway takes it, then sent or failed.
CREATE TABLE outbound_answers (
    id              bigserial PRIMARY KEY,
    reply_id        bigint NOT NULL REFERENCES replies(id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('sms','zalo')),
    gateway         text,                   -- the gateway the reply came in on
    address         text NOT NULL,          -- 84… phone or Zalo user id
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),
    answered_by     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    gateway_msg_id  text,
    reason          text                    -- why it failed
);
CREATE INDEX outbound_answers_pending ON outbound_answers (created_at) WHERE state = 'pending';

-- The officers' queue: replies not answered yet, newest first.
CREATE INDEX replies_unanswered ON replies (received_at) WHERE answered_at IS NULL;
