//! spolis-adapter answers two questions about one person from the SPOLIS register —
//! EP115 GetApplicationList and EP116 GetQueueStatusList — to municipal systems and the
//! VISS bus, over SOAP 1.1/1.2 and mutual TLS, and records every call in a tamper-evident
//! audit log before its answer leaves.
//!
//! A request flows one way (docs/ARCHITECTURE.md follows it in detail):
//!
//! 1. `server` accepts a TCP connection within the `connection` caps, `tls` completes the
//!    handshake with a mandatory client certificate and re-checks its revocation;
//! 2. `http` routes `POST /<Operation>` (and `GET ?wsdl`, `/xsd/…`) and reads the body within
//!    its limits and the shared `budget`;
//! 3. `service` runs the stages — receive (`xml`, `soap`), identify (`identity`), secure
//!    (`wssec`), the typed operation, admit (`quotas`) — and asks the `store`;
//! 4. the answer (or an `error::ServiceError`) is signed, its `audit` record made durable, and
//!    only then written back in the version and style received.
//!
//! `tools` holds what is not the service: the client, replay, the demo register, the example PKI.

#![forbid(unsafe_code)]

pub mod audit;
pub(crate) mod budget;
pub mod config;
pub(crate) mod connection;
pub mod contract;
pub(crate) mod cpu;
pub mod database;
pub mod error;
pub mod estimate;
pub mod http;
pub mod identity;
pub(crate) mod metrics;
pub mod model;
pub mod ops;
pub mod personal_code;
pub mod private_files;
pub mod quotas;
pub mod register;
pub mod reload;
pub mod server;
pub mod service;
pub mod soap;
pub mod statistics;
pub mod store;
pub mod tls;
pub mod tools;
pub mod wssec;
pub mod xml;
