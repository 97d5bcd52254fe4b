-- The tables and indexes of the daemon's statements. The statements themselves (loa_lease,
-- loa_flush, loa_handover, loa_apply_dlr, …) are in sql/functions/20_engine.sql.

CREATE INDEX messages_in_doubt ON messages (gateway, due_at) WHERE state = 'in_doubt';

-- Delivery reports that arrived while their message was still leased (the answer of the submit
-- not recorded yet): parked here and applied by loa_dlr_reconcile() once it is submitted.
CREATE TABLE dlr_parked (
    campaign_id bigint NOT NULL,
    message_id  bigint NOT NULL,
    final_state text NOT NULL CHECK (final_state IN ('delivered', 'undelivered')),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, message_id)
);

-- Who follows a Zalo OA (follow / unfollow webhooks): consultation messages need it.
CREATE TABLE zalo_followers (
    gateway     text NOT NULL,
    user_id     text NOT NULL,
    following   boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway, user_id)
);
