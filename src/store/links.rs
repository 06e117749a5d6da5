//! The `links` table (issue 6).
