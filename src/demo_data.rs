//! Placeholder: deterministic demo data (being written).
