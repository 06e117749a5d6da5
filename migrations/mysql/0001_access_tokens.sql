-- The current access_token of each app and token kind, so a restart reuses it.
-- MySQL/MariaDB dialect (migrations/README.md): VARCHAR, never TEXT (sqlx's Any driver
-- reads TEXT as bytes); utf8mb4_bin, so text compares bytewise as on SQLite.
CREATE TABLE access_tokens (
    app_id        VARCHAR(64)   NOT NULL,
    kind          VARCHAR(32)   NOT NULL,   -- stable | classic | component | authorizer
    token         VARCHAR(2048) NOT NULL,
    expires_at    BIGINT        NOT NULL,   -- unix seconds
    refreshed_at  BIGINT        NOT NULL,   -- unix seconds
    refresh_count BIGINT        NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
