-- Open Platform (third-party platform). The latest component_verify_ticket of each
-- component, and the authorizers: their refresh tokens live here durably, since losing
-- one forces the merchant to authorize again. Access tokens (kinds `component` and
-- `authorizer`) live in access_tokens like the mini-program ones.
CREATE TABLE component_tickets (
    component_app_id VARCHAR(64)   NOT NULL PRIMARY KEY,
    ticket           VARCHAR(1024) NOT NULL,
    create_time      BIGINT        NOT NULL,   -- the push's CreateTime, unix seconds
    received_at      BIGINT        NOT NULL    -- unix seconds
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE authorizers (
    id               BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    component_app_id VARCHAR(64)   NOT NULL,
    app_id           VARCHAR(64)   NOT NULL,   -- the authorizer (mini program) appid
    refresh_token    VARCHAR(1024) NOT NULL,   -- authorizer_refresh_token, the latest WeChat gave
    func_ids         VARCHAR(2048) NOT NULL,   -- granted permission-set ids, comma-separated
    revoked          BIGINT        NOT NULL,   -- 1 after an unauthorized push; else 0
    auth_code_hash   VARCHAR(64)   NOT NULL,   -- sha256 hex of the last auth code used (never the code)
    authorized_at    BIGINT        NOT NULL,   -- unix seconds, last (re)authorization
    updated_at       BIGINT        NOT NULL,   -- unix seconds
    revoked_at       BIGINT        NOT NULL    -- unix seconds; 0 = not revoked
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX authorizers_app ON authorizers (component_app_id, app_id);
CREATE INDEX authorizers_auth_code ON authorizers (auth_code_hash);
CREATE INDEX authorizers_updated ON authorizers (updated_at);
