//! Tickets, component tokens and authorizers (issue 9).
