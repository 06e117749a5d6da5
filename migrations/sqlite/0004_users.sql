-- Mini-program users (one per app and openid) and their login sessions (issue 7).
CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id            TEXT   NOT NULL,      -- the mini program's appid
    openid            TEXT   NOT NULL,
    unionid           TEXT,                 -- only when the app is bound to an Open Platform account
    phone_number      TEXT,                 -- as WeChat gives it: with +<country code> outside 86
    pure_phone_number TEXT,
    country_code      TEXT,
    phone_bound_at    BIGINT,               -- unix seconds
    created_at        BIGINT NOT NULL,      -- unix seconds
    updated_at        BIGINT NOT NULL,      -- unix seconds
    last_login_at     BIGINT NOT NULL       -- unix seconds
);
-- Login upserts on it.
CREATE UNIQUE INDEX users_app_openid ON users (app_id, openid);
-- One user per phone and app: a second binding is a 409 (NULLs, no phone yet, never clash).
CREATE UNIQUE INDEX users_app_phone ON users (app_id, country_code, pure_phone_number);
CREATE INDEX users_unionid ON users (unionid);

-- Bearer sessions from /api/login. The token itself is never stored, only its SHA-256;
-- session_key (from jscode2session) decrypts the older encryptedData phone flow.
CREATE TABLE user_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT   NOT NULL,            -- base64url(SHA-256(token))
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id      TEXT   NOT NULL,            -- the app the user logged in with
    session_key TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,            -- unix seconds
    expires_at  BIGINT NOT NULL             -- unix seconds
);
CREATE UNIQUE INDEX user_sessions_token_hash ON user_sessions (token_hash);
CREATE INDEX user_sessions_user_expires ON user_sessions (user_id, expires_at);
