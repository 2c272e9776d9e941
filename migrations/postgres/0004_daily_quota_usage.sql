-- 0004_daily_quota_usage (PostgreSQL): calls per UTC day of each consumer and each operator,
-- counted for every instance on this database, so a daily quota holds however many instances
-- serve the address. Subjects are `consumer:<id>` or `operator:<consumer id>:<hex SHA-256 of
-- the operator's personal code>` — never a personal code itself. Past days are swept now and then.

CREATE TABLE daily_quota_usage (
    subject TEXT   NOT NULL,
    day     DATE   NOT NULL,
    calls   BIGINT NOT NULL,
    PRIMARY KEY (subject, day)
);
CREATE INDEX daily_quota_usage_by_day ON daily_quota_usage (day);
