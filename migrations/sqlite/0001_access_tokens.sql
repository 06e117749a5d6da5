-- The current access_token of each app and token kind, so a restart reuses it.
CREATE TABLE access_tokens (
    app_id        TEXT   NOT NULL,
    kind          TEXT   NOT NULL,          -- stable | classic | component | authorizer
    token         TEXT   NOT NULL,
    expires_at    BIGINT NOT NULL,          -- unix seconds
    refreshed_at  BIGINT NOT NULL,          -- unix seconds
    refresh_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, kind)
);
