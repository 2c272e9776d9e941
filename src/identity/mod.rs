//! Who is calling: maps the client certificate of a TLS connection to a registered
//! [`Consumer`] and says which services it may call, from which networks, and for whom it
//! may forward.
//!
//! - **Input → output:** the DER of a client certificate that `tls` has *already verified*
//!   (chain to a trusted CA, validity, clientAuth) → [`CertificateIdentity`] →
//!   `Option<&Consumer>`; the registry file → [`ConsumerRegistry`] or a [`RegistryError`]
//!   naming the file and the entry.
//! - **Never:** nothing here verifies signatures, chains or validity dates. An
//!   issuer-and-serial binding is only as good as the chain check done before it, which
//!   is why `tls` must never accept a certificate it has not verified. Nothing here logs or
//!   stores personal codes; subjects and issuers are rendered with control characters
//!   escaped, so they are safe to put in a log line.
//!
//! One concept a file:
//!
//! - `certificate`: what identifies a certificate (fingerprint, issuer, serial) in the
//!   canonical forms the registry matches on;
//! - `name`: distinguished names, rendered from certificates and read back from the
//!   registry (RFC 4514);
//! - `consumer`: a registered calling system and what it may do;
//! - `network`: the networks a consumer may call from;
//! - `registry`: the registry file (its syntax is documented there) and the lookups;
//! - `cert_info`: `spolis-adapter cert-info`, which prints what to paste into the registry.

mod cert_info;
mod certificate;
mod consumer;
mod name;
mod network;
mod registry;
#[cfg(test)]
mod test_support;

pub use cert_info::describe_certificate;
pub(crate) use cert_info::toml_string;
pub use certificate::{CertificateIdentity, IdentityError};
pub(crate) use consumer::sender_institution;
pub use consumer::Consumer;
pub(crate) use name::render_name;
pub use name::NameSyntaxError;
pub use network::IpNetwork;
pub use registry::{ConsumerRegistry, EntryPlace, RegistryError, RegistryProblem};
