//! Placeholder: consumer registry (being written).
