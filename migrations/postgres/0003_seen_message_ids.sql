-- 0003_seen_message_ids (PostgreSQL): the MessageIDs received within the replay window, per
-- consumer, shared by every instance on this database — so a message replayed to another
-- instance behind the same address is refused as surely as one replayed to the same instance.
-- A row whose expires_at has passed is a forgotten id: it is taken over by the next message
-- with that id, and swept out now and then.

CREATE TABLE seen_message_ids (
    consumer_id TEXT        NOT NULL,
    message_id  TEXT        NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer_id, message_id)
);
CREATE INDEX seen_message_ids_by_expiry ON seen_message_ids (expires_at);
