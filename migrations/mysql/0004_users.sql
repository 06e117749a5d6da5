-- Mini-program users (one per app and openid) and their login sessions (issue 7).
CREATE TABLE users (
    id                BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    app_id            VARCHAR(64)  NOT NULL,  -- the mini program's appid
    openid            VARCHAR(128) NOT NULL,
    unionid           VARCHAR(128),           -- only when the app is bound to an Open Platform account
    phone_number      VARCHAR(32),            -- as WeChat gives it: with +<country code> outside 86
    pure_phone_number VARCHAR(32),
    country_code      VARCHAR(16),
    phone_bound_at    BIGINT,                 -- unix seconds
    created_at        BIGINT       NOT NULL,  -- unix seconds
    updated_at        BIGINT       NOT NULL,  -- unix seconds
    last_login_at     BIGINT       NOT NULL   -- unix seconds
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Login upserts on it.
CREATE UNIQUE INDEX users_app_openid ON users (app_id, openid);
-- One user per phone and app: a second binding is a 409 (NULLs, no phone yet, never clash).
CREATE UNIQUE INDEX users_app_phone ON users (app_id, country_code, pure_phone_number);
CREATE INDEX users_unionid ON users (unionid);

-- Bearer sessions from /api/login. The token itself is never stored, only its SHA-256;
-- session_key (from jscode2session) decrypts the older encryptedData phone flow.
CREATE TABLE user_sessions (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash  VARCHAR(64)  NOT NULL,        -- base64url(SHA-256(token))
    user_id     BIGINT       NOT NULL,
    app_id      VARCHAR(64)  NOT NULL,        -- the app the user logged in with
    session_key VARCHAR(256) NOT NULL,
    created_at  BIGINT       NOT NULL,        -- unix seconds
    expires_at  BIGINT       NOT NULL,        -- unix seconds
    CONSTRAINT user_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX user_sessions_token_hash ON user_sessions (token_hash);
CREATE INDEX user_sessions_user_expires ON user_sessions (user_id, expires_at);
