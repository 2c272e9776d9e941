//! The export format in one table: every entity of `xsd/RegisterExport.xsd`, its element,
//! its register table and, field by field, the element, the column and the kind of value.
//! The reader, the validator, both loaders and the exporter are driven by [`ENTITIES`], so a
//! new field is one line here (plus its column in a migration and its element in the XSD).

/// The export's namespace (`xsd/RegisterExport.xsd`).
pub const NAMESPACE: &str = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS-Register/v1-0";

/// The document element and its header and section elements.
pub(crate) const ROOT: &str = "RegisterExport";
pub(crate) const AS_OF: &str = "AsOf";
pub(crate) const KIND: &str = "Kind";
pub(crate) const PERSONS: &str = "Persons";
pub(crate) const DELETIONS: &str = "Deletions";

/// A classifier table: referenced by code in the export, by id in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Classifier {
    ServiceKind = 0,
    Provider = 1,
    Municipality = 2,
    ClientGroup = 3,
}

/// How many classifiers there are (the first entities of [`ENTITIES`]).
pub(crate) const CLASSIFIERS: usize = 4;

/// What a field holds, and so how it is checked and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// `xs:date`, stored as `YYYY-MM-DD`.
    Date,
    /// A personal code that can exist (`crate::personal_code`), stored as its eleven digits.
    PersonCode,
    /// A queue event kind, 1–15.
    EventCode,
    /// A stable numeric key given by SPOLIS, stored as the row's id.
    Id,
    /// `xs:boolean`, stored as 1/0 (SQLite) or a BOOLEAN (PostgreSQL).
    Boolean,
    /// A classifier's code, stored as that classifier row's id.
    Code(Classifier),
    /// The number of one of the same person's applications, stored as that application's id.
    ApplicationRef,
}

/// One field: an element of the entity and the column it fills.
#[derive(Debug)]
pub(crate) struct Field {
    pub element: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// How an entity's rows hang together in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// A classifier: its own section, key `code`.
    Classifier(Classifier),
    /// The person (`persons`), key `person_code`.
    Person,
    /// Belongs to the person through `person_id`.
    OfPerson,
    /// Belongs to an application through `application_id`.
    OfApplication,
    /// At most one per application, referenced by `applications.legal_representative_id`.
    Representative,
}

/// One entity of the export and the table it fills.
#[derive(Debug)]
pub(crate) struct Entity {
    pub element: &'static str,
    /// For classifiers, the section element that holds them.
    pub section: Option<&'static str>,
    pub table: &'static str,
    pub link: Link,
    pub fields: &'static [Field],
}

impl Entity {
    pub(crate) fn field(&self, element: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.element == element)
    }
}

const fn f(element: &'static str, column: &'static str, kind: Kind, required: bool) -> Field {
    Field { element, column, kind, required }
}

use Kind::*;

pub(crate) const PERSON: usize = 4;
pub(crate) const REPRESENTATIVE: usize = 5;
pub(crate) const APPLICATION: usize = 6;
pub(crate) const QUEUE_EVENT: usize = 12;
pub(crate) const QUEUE_ENTRY: usize = 13;
/// How many entities there are.
pub(crate) const ENTITY_COUNT: usize = 14;

/// Every entity, in the order the export writes them (and a loader may insert them).
pub(crate) const ENTITIES: [Entity; ENTITY_COUNT] = [
    Entity {
        element: "ServiceKind",
        section: Some("ServiceKinds"),
        table: "service_kinds",
        link: Link::Classifier(Classifier::ServiceKind),
        fields: &[f("Code", "code", Text, true), f("Name", "name", Text, true)],
    },
    Entity {
        element: "Provider",
        section: Some("Providers"),
        table: "providers",
        link: Link::Classifier(Classifier::Provider),
        fields: &[f("Code", "code", Text, true), f("Name", "name", Text, true), f("Address", "address", Text, true)],
    },
    Entity {
        element: "Municipality",
        section: Some("Municipalities"),
        table: "municipalities",
        link: Link::Classifier(Classifier::Municipality),
        fields: &[
            f("Code", "code", Text, true),
            f("Name", "name", Text, true),
            f("Address", "address", Text, true),
            f("Phone", "phone", Text, false),
            f("Email", "email", Text, false),
        ],
    },
    Entity {
        element: "ClientGroup",
        section: Some("ClientGroups"),
        table: "client_groups",
        link: Link::Classifier(Classifier::ClientGroup),
        fields: &[f("Code", "code", Text, true), f("Name", "name", Text, true)],
    },
    Entity {
        element: "Person",
        section: None,
        table: "persons",
        link: Link::Person,
        fields: &[f("PersonCode", "person_code", PersonCode, true), f("FirstName", "first_name", Text, true), f("Surname", "surname", Text, true)],
    },
    Entity {
        element: "LegalRepresentative",
        section: None,
        table: "legal_representatives",
        link: Link::Representative,
        fields: &[
            f("FirstName", "first_name", Text, true),
            f("Surname", "surname", Text, true),
            f("PersonCode", "person_code", PersonCode, false),
            f("Address", "address", Text, false),
            f("Phone", "phone", Text, false),
            f("Email", "email", Text, false),
        ],
    },
    Entity {
        element: "Application",
        section: None,
        table: "applications",
        link: Link::OfPerson,
        fields: &[
            f("ApplicationNumber", "application_number", Text, true),
            f("SubmittedOn", "submitted_on", Date, true),
            f("ApplicationKind", "application_kind", Text, true),
            f("ServiceKind", "service_kind_id", Code(Classifier::ServiceKind), true),
            f("PreferredProvider", "preferred_provider_id", Code(Classifier::Provider), false),
            f("Municipality", "municipality_id", Code(Classifier::Municipality), true),
            f("ProblemNature", "client_group_id", Code(Classifier::ClientGroup), false),
        ],
    },
    Entity {
        element: "SubmittedDocument",
        section: None,
        table: "submitted_documents",
        link: Link::OfApplication,
        fields: &[f("Title", "title", Text, true), f("SubmittedOn", "submitted_on", Date, true)],
    },
    Entity {
        element: "DocumentRequest",
        section: None,
        table: "document_requests",
        link: Link::OfApplication,
        fields: &[
            f("RequestedOn", "requested_on", Date, true),
            f("Description", "description", Text, true),
            f("DueOn", "due_on", Date, false),
            f("FulfilledOn", "fulfilled_on", Date, false),
        ],
    },
    Entity {
        element: "GrantDecision",
        section: None,
        table: "grant_decisions",
        link: Link::OfApplication,
        fields: &[
            f("DecidedOn", "decided_on", Date, true),
            f("DocumentNumber", "document_number", Text, true),
            f("Provider", "provider_id", Code(Classifier::Provider), true),
            f("EffectiveFrom", "granted_from", Date, true),
        ],
    },
    Entity {
        element: "QueueDecision",
        section: None,
        table: "queue_decisions",
        link: Link::OfApplication,
        fields: &[
            f("DecidedOn", "decided_on", Date, true),
            f("DocumentNumber", "document_number", Text, true),
            f("Provider", "provider_id", Code(Classifier::Provider), true),
            f("EffectiveFrom", "queued_from", Date, true),
        ],
    },
    Entity {
        element: "RefusalDecision",
        section: None,
        table: "refusal_decisions",
        link: Link::OfApplication,
        fields: &[
            f("DecidedOn", "decided_on", Date, true),
            f("DocumentNumber", "document_number", Text, true),
            f("Reason", "reason", Text, true),
        ],
    },
    Entity {
        element: "QueueEvent",
        section: None,
        table: "queue_events",
        link: Link::OfPerson,
        fields: &[
            f("EventId", "id", Id, true),
            f("Kind", "kind", EventCode, true),
            f("EventDate", "event_date", Date, true),
            f("ApplicationNumber", "application_id", ApplicationRef, false),
            f("DecisionNumber", "decision_number", Text, false),
            f("ServiceKind", "service_kind_id", Code(Classifier::ServiceKind), true),
            f("PreferredProvider", "preferred_provider_id", Code(Classifier::Provider), false),
            f("OfferedProvider", "offered_provider_id", Code(Classifier::Provider), false),
            f("OfferedAddress", "offered_address", Text, false),
            f("GrantedOn", "granted_on", Date, false),
        ],
    },
    Entity {
        element: "QueueEntry",
        section: None,
        table: "queue_entries",
        link: Link::OfPerson,
        fields: &[
            f("EntryId", "id", Id, true),
            f("ApplicationNumber", "application_id", ApplicationRef, false),
            f("Provider", "provider_id", Code(Classifier::Provider), true),
            f("ServiceKind", "service_kind_id", Code(Classifier::ServiceKind), true),
            f("QueuedSince", "queued_since", Date, true),
            f("Active", "active", Boolean, true),
        ],
    },
];

/// The entities an application holds, in the XSD's order.
pub(crate) const APPLICATION_CHILDREN: [usize; 6] = [REPRESENTATIVE, 7, 8, 9, 10, 11];
/// The entities a person holds besides applications, in the XSD's order.
pub(crate) const PERSON_CHILDREN: [usize; 3] = [APPLICATION, QUEUE_EVENT, QUEUE_ENTRY];

/// The index in [`ENTITIES`] of the entity of a classifier.
pub(crate) fn classifier_entity(classifier: Classifier) -> usize {
    classifier as usize
}

/// The elements of `<Deletions>` and the key each names.
pub(crate) const DELETE_PERSON: &str = "PersonCode";
pub(crate) const DELETE_APPLICATION: &str = "ApplicationNumber";
pub(crate) const DELETE_EVENT: &str = "EventId";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_register_and_the_schema() {
        let xsd = include_str!("../../xsd/RegisterExport.xsd");
        let migrations = [
            include_str!("../../migrations/sqlite/0001_register.sql"),
            include_str!("../../migrations/sqlite/0002_refusal_decisions.sql"),
            include_str!("../../migrations/sqlite/0003_client_groups.sql"),
        ];
        let sql = migrations.concat();
        for (index, entity) in ENTITIES.iter().enumerate() {
            assert_eq!(entity.table, crate::store::REGISTER_TABLES[index], "ENTITIES follows REGISTER_TABLES");
            assert!(xsd.contains(&format!("name=\"{}\"", entity.element)), "{} in the XSD", entity.element);
            let create = sql.split(&format!("CREATE TABLE {} (", entity.table)).nth(1).expect("table in the migration");
            let create = create.split(");").next().unwrap_or_default();
            for field in entity.fields {
                assert!(xsd.contains(&format!("name=\"{}\"", field.element)), "{} in the XSD", field.element);
                let added = format!("ALTER TABLE {} ADD COLUMN {} ", entity.table, field.column);
                assert!(create.contains(&format!("\n    {} ", field.column)) || sql.contains(&added), "{}.{} in the migrations", entity.table, field.column);
            }
        }
        assert_eq!(APPLICATION_CHILDREN.iter().map(|&i| ENTITIES[i].link).filter(|l| *l == Link::OfApplication).count(), 5);
    }
}
