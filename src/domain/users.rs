//! Login and phone values: codes, phone numbers and their masking (issue 7).
