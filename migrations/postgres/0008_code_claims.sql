-- Who is making a code right now, across instances: identical requests reaching several
-- instances at once make one WeChat call. A claim is inserted before the call and deleted
-- after it; a claim older than its lifetime belongs to an instance that died (kill -9)
-- and is taken over. See src/services/codes/claim.rs.
CREATE TABLE code_claims (
    hash       VARCHAR(64) PRIMARY KEY,   -- the code's hash, as in codes.hash
    owner      VARCHAR(32) NOT NULL,      -- random per claim: only its owner deletes it
    claimed_at BIGINT NOT NULL            -- unix milliseconds
);
