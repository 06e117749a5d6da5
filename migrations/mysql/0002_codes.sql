-- Mini-program codes: one row per distinct image (content-addressed), and each app's count
-- of quota-limited codes (limited + qrcode).
CREATE TABLE codes (
    id           BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    app_id       VARCHAR(64)   NOT NULL,   -- the WeChat appid the code belongs to
    kind         VARCHAR(32)   NOT NULL,   -- unlimited | limited | qrcode
    hash         VARCHAR(64)   NOT NULL,   -- sha256 hex of app, kind and normalized params
    file         VARCHAR(255)  NOT NULL,   -- name under storage.dir: <hash>.jpg | <hash>.png
    page         VARCHAR(1024) NOT NULL,   -- unlimited: page ('' = home); else the path (<= 1024)
    scene        VARCHAR(128)  NOT NULL,   -- unlimited: scene; else ''
    width        BIGINT        NOT NULL,
    params       VARCHAR(8192) NOT NULL,   -- the normalized parameters sent to WeChat (JSON)
    content_type VARCHAR(64)   NOT NULL,   -- image/jpeg | image/png
    size         BIGINT        NOT NULL,   -- bytes
    created_at   BIGINT        NOT NULL,   -- unix seconds
    UNIQUE KEY codes_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX codes_app_kind_created ON codes (app_id, kind, created_at);
CREATE INDEX codes_created ON codes (created_at);

-- limited + qrcode codes made per app (WeChat caps them at 100,000 for the app's lifetime).
CREATE TABLE code_quota (
    app_id       VARCHAR(64) NOT NULL PRIMARY KEY,
    used         BIGINT      NOT NULL DEFAULT 0,
    exhausted_at BIGINT      NOT NULL DEFAULT 0  -- unix seconds WeChat answered 45029; 0 = never
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
