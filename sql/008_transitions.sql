-- The legal changes of messages.state and campaigns.status, one row per edge with the reason it
-- exists. The rows are not written here: they are generated at build time from the tables in
-- campaigns/message.c and campaigns/campaign_status.c (tools/gen_transitions.c) and rewritten
-- by every `loa db migrate`, so the C and the database cannot disagree. The triggers of
-- sql/functions/10_messages.sql refuse any change of state that is not a row here.
CREATE TABLE message_transitions (
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    reason      text NOT NULL,
    PRIMARY KEY (from_state, to_state),
    CHECK (from_state <> to_state)
);
CREATE TABLE campaign_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    reason      text NOT NULL,
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);
