//! Verifying signed requests (placeholder, filled in below).
