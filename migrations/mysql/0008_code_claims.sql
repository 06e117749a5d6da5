-- Who is making a code right now (src/store/claims.rs): one row per code hash, taken over
-- only from a claim older than the caller's deadline.
CREATE TABLE code_claims (
    hash       VARCHAR(64) NOT NULL PRIMARY KEY,
    owner      VARCHAR(32) NOT NULL,
    claimed_at BIGINT      NOT NULL              -- unix milliseconds
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
