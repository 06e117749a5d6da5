-- Indexes for the admin lists (issue 8). Lists are newest first (created_at DESC, id DESC);
-- each filter has an index that starts with its column and ends with created_at, so a
-- filtered page is read in order from the index and its total is counted from the index.
-- Already there: codes (app_id, kind, created_at), codes (created_at), links (app_id, kind,
-- created_at), links (created_at). The page index keys on the first 255 characters
-- (1,020 bytes of utf8mb4, within InnoDB's 3,072): a prefix filter is a range on it.
CREATE INDEX codes_app_created ON codes (app_id, created_at);
CREATE INDEX codes_kind_created ON codes (kind, created_at);
CREATE INDEX codes_scene_created ON codes (scene, created_at);
CREATE INDEX codes_page_created ON codes (page(255), created_at);
CREATE INDEX links_kind_created ON links (kind, created_at);
CREATE INDEX users_created ON users (created_at);
CREATE INDEX users_app_created ON users (app_id, created_at);
