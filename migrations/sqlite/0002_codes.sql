-- Mini-program codes: one row per distinct image (content-addressed), and each app's count
-- of quota-limited codes (limited + qrcode).
CREATE TABLE codes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       TEXT   NOT NULL,          -- the WeChat appid the code belongs to
    kind         TEXT   NOT NULL,          -- unlimited | limited | qrcode
    hash         TEXT   NOT NULL UNIQUE,   -- sha256 hex of app, kind and normalized params
    file         TEXT   NOT NULL,          -- name under storage.dir: <hash>.jpg | <hash>.png
    page         TEXT   NOT NULL,          -- unlimited: page ('' = home); else the path
    scene        TEXT   NOT NULL,          -- unlimited: scene; else ''
    width        BIGINT NOT NULL,
    params       TEXT   NOT NULL,          -- the normalized parameters sent to WeChat (JSON)
    content_type TEXT   NOT NULL,          -- image/jpeg | image/png
    size         BIGINT NOT NULL,          -- bytes
    created_at   BIGINT NOT NULL           -- unix seconds
);
CREATE INDEX codes_app_kind_created ON codes (app_id, kind, created_at);
CREATE INDEX codes_created ON codes (created_at);

-- limited + qrcode codes made per app (WeChat caps them at 100,000 for the app's lifetime).
CREATE TABLE code_quota (
    app_id       TEXT   NOT NULL PRIMARY KEY,
    used         BIGINT NOT NULL DEFAULT 0,
    exhausted_at BIGINT NOT NULL DEFAULT 0  -- unix seconds WeChat answered 45029; 0 = never
);
