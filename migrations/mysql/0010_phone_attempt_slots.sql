-- Each attempt of the encrypted phone flow takes one of 5 numbered slots of its session
-- (unique), so concurrent attempts can never exceed the limit (src/store/users.rs). The
-- rows are 10-minute counters, so the old ones are dropped, not numbered.
DELETE FROM phone_attempts;
ALTER TABLE phone_attempts ADD COLUMN slot BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX phone_attempts_session_slot ON phone_attempts (session_id, slot);
