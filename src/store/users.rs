//! The `users` and `sessions` tables (issue 7).
