//! Placeholder: example certificate generation (being written).
