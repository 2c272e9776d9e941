//! A registered calling system (patērētājs) and what it may do: call some services, from
//! some networks, with or without signed requests, and, for an intermediary (the VISS
//! bus), forward IVIS calls for other consumers.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::NaiveDate;

use super::network::IpNetwork;
use crate::contract::{Environment, Service};

/// A registered calling system (patērētājs): an institution's system allowed to call some
/// of the services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// The institution's registration number (reģistrācijas numurs), e.g. `"90011524360"`,
    /// or a VISS system id such as `"AU:100001"`. Goes into the audit record.
    pub id: String,
    /// A human-readable name for logs and the audit record.
    pub name: String,
    /// The environment this consumer's certificates are registered for.
    pub environment: Environment,
    /// The services it may call; never empty.
    pub services: BTreeSet<Service>,
    /// The networks it may call from; empty: any address.
    pub allowed_networks: Vec<IpNetwork>,
    /// Whether its requests must carry a WS-Security XML Signature (see `wssec::verify`).
    pub require_signed_requests: bool,
    /// Further identifiers an IVIS `Sender` may name this institution by (e.g. its VISS
    /// authority id), besides `id`; compared without an `AU:` prefix.
    pub sender_ids: Vec<String>,
    /// For an intermediary (the VISS bus): the ids of the consumers it forwards IVIS calls
    /// for. Empty for every other consumer.
    pub forwards_for: BTreeSet<String>,
    /// The system that calls (seed 000 part III "Sistēmas nosaukums"), e.g. "RD Vienotās
    /// informācijas sistēmas lietojumprogramma SOPA".
    pub system: Option<String>,
    /// Whom to tell about planned interruptions and to ask about the integration.
    pub contacts: Vec<Contact>,
    /// When the consumer planned to start exchanging data ("Plānotais DA palaišanas termiņš").
    pub planned_start: Option<NaiveDate>,
    /// Registered for bulk requests ("Masveida pieprasījums"): the per-operator limits do
    /// not apply to it, its own limits and daily quota do, and its calls are marked in the
    /// audit record.
    pub bulk_requests: Option<BulkRequests>,
}

/// A contact person of a consumer, as the access application lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub position: String,
    pub phone: String,
    pub email: String,
}

/// A consumer's registration for bulk requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequests {
    /// Who prepares the bulk requests ("masveida pieprasījuma sagatavotājs").
    pub prepared_by: String,
}

impl Consumer {
    /// Whether this consumer is granted `service`.
    pub fn may_call(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// Whether it may call from `address` (any address when no networks are listed).
    pub fn may_connect_from(&self, address: IpAddr) -> bool {
        self.allowed_networks.is_empty() || self.allowed_networks.iter().any(|network| network.contains(address))
    }

    /// Whether it is registered for bulk requests.
    pub fn makes_bulk_requests(&self) -> bool {
        self.bulk_requests.is_some()
    }

    /// Whether it forwards calls for other consumers (the VISS bus).
    pub fn is_intermediary(&self) -> bool {
        !self.forwards_for.is_empty()
    }

    /// Whether an IVIS `Sender`'s institution (see `sender_institution`) is this consumer.
    pub fn is_named_by(&self, institution: &str) -> bool {
        let bare = |id: &str| id.strip_prefix("AU:").unwrap_or(id).to_owned();
        let institution = bare(institution);
        bare(&self.id) == institution || self.sender_ids.iter().any(|id| bare(id) == institution)
    }
}

/// The institution an IVIS `Sender` (as `soap::ivis` renders it in one line) stands for:
/// `AU:90011524360` and an employee's `AU:90011524360-PK:…` both name `90011524360`; any
/// other form (a resident's `PK:…`, a SystemID) is returned whole and names no institution
/// unless registered so. The personal code of an employee is never part of the result.
pub(crate) fn sender_institution(sender: &str) -> &str {
    let sender = sender.trim();
    match sender.strip_prefix("AU:") {
        Some(rest) => rest.split("-PK:").next().unwrap_or(rest),
        None => sender,
    }
}
