-- Attempts of the older `encrypted_data` phone flow, per session (SPEC section 13): a
-- session with 5 failures in the last 10 minutes is refused, so the decryption cannot
-- serve as a padding oracle. A row is written before decrypting and removed when the
-- attempt succeeds; rows older than 10 minutes are purged as new ones arrive.
CREATE TABLE phone_attempts (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    session_id BIGINT NOT NULL,
    at         BIGINT NOT NULL,              -- unix seconds
    CONSTRAINT phone_attempts_session FOREIGN KEY (session_id) REFERENCES user_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX phone_attempts_session_at ON phone_attempts (session_id, at);
CREATE INDEX phone_attempts_at ON phone_attempts (at);
