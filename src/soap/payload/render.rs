//! Answer fragments both services share: persons, providers and classifier values.

use crate::model::{Classifier, Person, Provider};
use crate::xml::XmlWriter;

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
