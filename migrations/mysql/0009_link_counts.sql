-- Links made per app and counting period, across instances: schemes and URL links per
-- Beijing day (bucket 'day:<days since 1970-01-01, Beijing time>') and permanent short
-- links for life (bucket 'permanent_short'). See src/services/links/counts.rs.
CREATE TABLE link_counts (
    app_id VARCHAR(64) NOT NULL,
    bucket VARCHAR(32) NOT NULL,
    used   BIGINT      NOT NULL,
    PRIMARY KEY (app_id, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
