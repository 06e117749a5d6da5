-- Links for H5 pages: URL Schemes, URL Links and Short Links, one row per link WeChat
-- made. An identical request reuses a stored link that still suits it (the rules are in
-- src/services/links/reuse.rs).
CREATE TABLE links (
    id              BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    app_id          VARCHAR(64)   NOT NULL,  -- the WeChat appid the link opens
    kind            VARCHAR(32)   NOT NULL,  -- scheme | url_link | short_link
    lookup          VARCHAR(64)   NOT NULL,  -- sha1 hex of app_id, kind, path, query, env_version, title, permanent
    path            VARCHAR(2048) NOT NULL,  -- the page ('' = home page)
    query           VARCHAR(2048) NOT NULL,  -- the page's query ('' = none)
    env_version     VARCHAR(16)   NOT NULL,  -- release | trial | develop; '' for short links
    title           VARCHAR(1024) NOT NULL,  -- short links: page_title; else ''
    permanent       BIGINT        NOT NULL,  -- 1 = a permanent short link; else 0
    link            VARCHAR(512)  NOT NULL,  -- openlink, url_link or short link, as WeChat gave it
    expire_interval BIGINT        NOT NULL,  -- days asked for (30: short-term short link); 0 = an expire_time, or permanent
    expires_at      BIGINT        NOT NULL,  -- unix seconds; 0 = never (permanent short links)
    created_at      BIGINT        NOT NULL   -- unix seconds
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX links_kind_link ON links (kind, link);
CREATE INDEX links_lookup_expires ON links (lookup, expires_at);
CREATE INDEX links_app_kind_created ON links (app_id, kind, created_at);
CREATE INDEX links_created ON links (created_at);
