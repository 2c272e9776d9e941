//! spolis-adapter answers two questions about one person from the SPOLIS register —
//! EP115 GetApplicationList and EP116 GetQueueStatusList — to municipal systems and the
//! VISS bus, over SOAP 1.1/1.2 and mutual TLS.
//!
//! A request flows one way through the pipeline:
//!
//! 1. `server` accepts a TCP connection, `tls` completes the handshake with a mandatory
//!    client certificate, and `identity` maps that certificate to a registered consumer;
//! 2. `http` routes `POST /<Operation>` (and `GET ?wsdl`, `/xsd/…`) and caps the body;
//! 3. `soap` parses the envelope (1.1 or 1.2, plain or IVIS style) into a typed request,
//!    checked against the contract in `contract`;
//! 4. `service` checks the consumer may call the operation and asks the `store`;
//! 5. the answer (or an `error::ServiceError`) is written back in the version and style received.

#![forbid(unsafe_code)]

pub mod audit;
pub mod budget;
pub mod config;
pub mod connection;
pub mod contract;
pub mod cpu;
pub mod database;
pub mod error;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod personal_code;
pub mod private_files;
pub mod quotas;
pub mod reload;
pub mod server;
pub mod service;
pub mod soap;
pub mod store;
pub mod tls;
pub mod tools;
pub mod wssec;
pub mod xml;
