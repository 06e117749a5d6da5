//! The `codes` table (issue 5).
