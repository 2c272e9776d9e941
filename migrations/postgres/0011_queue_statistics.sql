-- 0011_queue_statistics: as migrations/sqlite/0006_queue_statistics.sql, ids BIGINT as the register's.
-- GetQueueStatistics's aggregates, rebuilt from the register by every
-- import in the import's own transaction (src/statistics). No personal data: counts of
-- distinct persons per month × queue (service kind × provider) × municipality, the waiting
-- time percentiles of those granted, and which numbers are withheld.
--
-- municipality_id 0 is the whole queue (all municipalities together). A cell is stored only
-- when it holds anything (a count, a percentile or a withheld mark): a missing one is zeros.
-- No foreign keys: a full import on PostgreSQL replaces the register tables under it.
CREATE TABLE queue_statistics (
    month                  INTEGER NOT NULL,   -- year × 12 + month − 1 (model::Month)
    municipality_id        BIGINT NOT NULL,
    service_kind_id        BIGINT NOT NULL,
    provider_id            BIGINT NOT NULL,
    waiting                INTEGER NOT NULL,   -- at the month's end
    admitted               INTEGER NOT NULL,
    offered                INTEGER NOT NULL,
    declined               INTEGER NOT NULL,
    granted                INTEGER NOT NULL,
    refused                INTEGER NOT NULL,
    removed                INTEGER NOT NULL,
    median_wait_days       INTEGER,            -- NULL: nobody granted with a known wait
    percentile90_wait_days INTEGER,
    suppressed             INTEGER NOT NULL,   -- bit m withholds count m; bit 7 the percentiles
    PRIMARY KEY (month, municipality_id, service_kind_id, provider_id)
);

-- The last month the aggregates reach: the register's last month with an event or a queue entry
-- starting; after it nobody moved and waiting stays as it was.
CREATE TABLE queue_statistics_horizon (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_month INTEGER NOT NULL,
    built_at   TEXT NOT NULL                     -- RFC 3339, UTC
);
