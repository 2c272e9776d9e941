//! The tools around the service, kept apart from what serves calls: nothing in the request
//! pipeline uses `tools` (only `config`'s tests borrow the example PKI), and the binary's tool
//! subcommands hand over here.
//!
//! - `client`: `spolis-adapter client` and `replay`, the calling side of EP115/EP116 (mutual
//!   TLS, envelopes, answers as a table, XML, JSON or the printout PDF).
//! - `demo_register`: `seed-demo`, the deterministic synthetic register the demo, the tests
//!   and the benchmarks answer from.
//! - `example_pki`: `gen-certs`, the throw-away CA, certificates, CRL and consumer registry
//!   of `certs-example/` and of the mutual-TLS tests.
//!
//! They reach the service only through the library's public types (the model, the store's
//! migrations, the contract), the same way an outside caller would.

pub mod client;
pub mod demo_register;
pub mod example_pki;
