//! Read-only admin queries: paged lists with filters (issue 8).
