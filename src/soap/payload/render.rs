//! Answer fragments both services share: persons, providers and classifier values.

use chrono::{DateTime, Utc};

use crate::model::{Classifier, Person, Provider};
use crate::xml::XmlWriter;

/// `RegisterAsOf` (`xs:dateTime`, UTC, whole seconds): when SPOLIS extracted the data the
/// answer comes from; left out when nothing was ever imported.
pub(crate) fn register_as_of(w: &mut XmlWriter, as_of: Option<DateTime<Utc>>) {
    if let Some(as_of) = as_of {
        w.leaf("RegisterAsOf", &as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
}

/// `PersonStructure`: `PersonCode`, `FirstName`, `Surname`.
pub(crate) fn person(w: &mut XmlWriter, tag: &str, person: &Person) {
    w.open(tag)
        .leaf("PersonCode", &person.person_code.to_string())
        .leaf("FirstName", &person.first_name)
        .leaf("Surname", &person.surname)
        .close(tag);
}

/// `ProviderStructure`: `Code`, `Name`.
pub(crate) fn provider(w: &mut XmlWriter, tag: &str, provider: &Provider) {
    w.open(tag).leaf("Code", &provider.code).leaf("Name", &provider.name).close(tag);
}

/// `ClassifierStructure`: `Code`, `Name`.
pub(crate) fn classifier(w: &mut XmlWriter, tag: &str, value: &Classifier) {
    w.open(tag).leaf("Code", &value.code).leaf("Name", &value.name).close(tag);
}
