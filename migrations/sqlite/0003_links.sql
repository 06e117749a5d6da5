-- Links for H5 pages: URL Schemes, URL Links and Short Links, one row per link WeChat
-- made. An identical request reuses a stored link that still suits it (the rules are in
-- src/services/links/reuse.rs).
CREATE TABLE links (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT   NOT NULL,      -- the WeChat appid the link opens
    kind            TEXT   NOT NULL,      -- scheme | url_link | short_link
    lookup          TEXT   NOT NULL,      -- sha1 hex of app_id, kind, path, query, env_version, title, permanent
    path            TEXT   NOT NULL,      -- the page ('' = home page)
    query           TEXT   NOT NULL,      -- the page's query ('' = none)
    env_version     TEXT   NOT NULL,      -- release | trial | develop; '' for short links
    title           TEXT   NOT NULL,      -- short links: page_title; else ''
    permanent       BIGINT NOT NULL,      -- 1 = a permanent short link; else 0
    link            TEXT   NOT NULL,      -- openlink, url_link or short link, as WeChat gave it
    expire_interval BIGINT NOT NULL,      -- days asked for (30: short-term short link); 0 = an expire_time, or permanent
    expires_at      BIGINT NOT NULL,      -- unix seconds; 0 = never (permanent short links)
    created_at      BIGINT NOT NULL       -- unix seconds
);
CREATE UNIQUE INDEX links_kind_link ON links (kind, link);
CREATE INDEX links_lookup_expires ON links (lookup, expires_at);
CREATE INDEX links_app_kind_created ON links (app_id, kind, created_at);
CREATE INDEX links_created ON links (created_at);
