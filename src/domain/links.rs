//! Link parameters: path, query, env_version, expiry (issue 6).
