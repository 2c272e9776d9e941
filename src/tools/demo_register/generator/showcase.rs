//! The fixed persons of [`SHOWCASE`], written first and always the same: README's table,
//! `tests/showcase.rs` and the expected answers of `wsdl/samples/expected/` rely on every
//! day and provider written here.

use super::super::random::{day, ymd};
use super::super::reference::{
    DOC_APPLICATION, DOC_ASSESSMENT, DOC_CHANGE_KIND, DOC_CHANGE_PROVIDER, DOC_DISABILITY, DOC_GP, DOC_INCOME, DOC_MUNICIPAL,
    DOC_PSYCHIATRIST, DOC_RENEWED, DOC_REPRESENTATIVE, GRUPU_DZ, ISAR, KIND_MAIN, KIND_PROVIDER_CHANGE, KIND_SERVICE_CHANGE,
    MENTAL, PUSCELA, RENEWAL_REQUEST, REQUESTS, VISION,
};
use super::super::writer::{Subject, Writer};
use super::super::SHOWCASE;
use super::{refusal_for_missing, Generator};
use crate::personal_code::PersonalCode;
use crate::store::StoreError;

impl Generator {
    /// The fixed persons of [`SHOWCASE`], written first and always the same.
    pub(in crate::tools::demo_register) fn showcase(&mut self, w: &mut Writer<'_>) -> Result<(), StoreError> {
        let code = |text: &str| PersonalCode::parse(text).expect("showcase codes are valid");
        let eze = Self::provider_index("VSAC-RIG-EZE");

        // Ērika Kalniņa, with visual impairment: waits in two queues.
        let rep_code = self.codes.old_format(ymd(1968, 7, 22));
        let rep = w.representative(
            "Inese",
            "Liepiņa",
            &rep_code,
            "Brīvības iela 118-7, Rīga, LV-1001",
            "+371 29416807",
            Some("inese.liepina@inbox.lv"),
        )?;
        let id = w.person(&code(SHOWCASE[0].person_code), "Ērika", "Kalniņa")?;
        let mut s = Subject::new(id, day(1942, 3, 15), Self::municipality_index("RIGA"), VISION, Some(rep));
        let a = w.application(&s, day(2024, 9, 16), KIND_MAIN, ISAR, eze)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_MUNICIPAL, DOC_REPRESENTATIVE] {
            w.document(&a, title, day(2024, 9, 16))?;
        }
        w.note(&s, &a, 15, day(2024, 9, 30))?;
        w.request(&a, day(2024, 9, 30), REQUESTS[0].0, day(2024, 10, 30), Some(day(2024, 10, 14)))?;
        w.document(&a, DOC_GP, day(2024, 10, 14))?;
        w.admit(&mut s, &a, 1, day(2024, 10, 28))?;
        let aizpute = Self::provider_index("VSAC-KUR-AIZ");
        w.offer(&s, &a, 6, day(2025, 6, 10), aizpute)?;
        w.offer(&s, &a, 7, day(2025, 6, 13), aizpute)?;
        w.note(&s, &a, 8, day(2025, 6, 27))?;
        w.note(&s, &a, 2, day(2025, 10, 6))?;
        w.request(&a, day(2025, 10, 6), RENEWAL_REQUEST, day(2025, 11, 5), Some(day(2025, 10, 20)))?;
        w.document(&a, DOC_RENEWED, day(2025, 10, 20))?;
        w.note(&s, &a, 3, day(2025, 10, 20))?;
        let b = w.application(&s, day(2025, 2, 3), KIND_MAIN, ISAR, Self::provider_index("LO-0110"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_REPRESENTATIVE] {
            w.document(&b, title, day(2025, 2, 3))?;
        }
        w.admit(&mut s, &b, 1, day(2025, 2, 24))?;
        w.finish(s)?;

        // Jānis Bērziņš, elderly with a severe mental disorder: declined one place, granted
        // another, then changed provider.
        let id = w.person(&code(SHOWCASE[1].person_code), "Jānis", "Bērziņš")?;
        let mut s = Subject::new(id, day(1948, 10, 2), Self::municipality_index("SIGULDA"), MENTAL, None);
        let allazi = Self::provider_index("VSAC-VID-ALL");
        let a = w.application(&s, day(2019, 5, 6), KIND_MAIN, ISAR, allazi)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_PSYCHIATRIST, DOC_INCOME] {
            w.document(&a, title, day(2019, 5, 6))?;
        }
        w.admit(&mut s, &a, 1, day(2019, 6, 3))?;
        w.note(&s, &a, 2, day(2020, 5, 11))?;
        w.request(&a, day(2020, 5, 11), RENEWAL_REQUEST, day(2020, 6, 10), Some(day(2020, 5, 25)))?;
        w.document(&a, DOC_RENEWED, day(2020, 5, 25))?;
        w.note(&s, &a, 3, day(2020, 5, 25))?;
        let iecava = Self::provider_index("VSAC-ZEM-IEC");
        w.offer(&s, &a, 6, day(2020, 9, 14), iecava)?;
        w.offer(&s, &a, 7, day(2020, 9, 18), iecava)?;
        w.note(&s, &a, 8, day(2020, 10, 5))?;
        w.offer(&s, &a, 6, day(2021, 2, 15), allazi)?;
        w.grant(&mut s, &a, 5, day(2021, 2, 26), allazi, day(2021, 3, 8))?;
        let b = w.application(&s, day(2023, 4, 12), KIND_PROVIDER_CHANGE, ISAR, eze)?;
        w.document(&b, DOC_CHANGE_PROVIDER, day(2023, 4, 12))?;
        w.note(&s, &b, 4, day(2023, 4, 12))?;
        w.admit(&mut s, &b, 9, day(2023, 5, 2))?;
        w.grant(&mut s, &b, 10, day(2024, 1, 15), eze, day(2024, 2, 1))?;
        w.finish(s)?;

        // Aivars Ozoliņš, of working age with a severe mental disorder: applied to a contract
        // organisation, was asked for a document, never sent it, and was refused.
        let id = w.person(&code(SHOWCASE[2].person_code), "Aivars", "Ozoliņš")?;
        let mut s = Subject::new(id, day(1961, 7, 2), Self::municipality_index("TALSI"), MENTAL, None);
        let a = w.application(&s, day(2023, 3, 13), KIND_MAIN, ISAR, Self::provider_index("LO-0111"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_PSYCHIATRIST] {
            w.document(&a, title, day(2023, 3, 13))?;
        }
        w.note(&s, &a, 15, day(2023, 3, 27))?;
        w.request(&a, day(2023, 3, 27), REQUESTS[0].0, day(2023, 4, 26), None)?;
        w.refuse(&mut s, &a, day(2023, 5, 15), &refusal_for_missing(DOC_GP))?;
        w.finish(s)?;

        // Līga Vītola, a young adult with a severe mental disorder under her mother's
        // guardianship: an institution, then a halfway house, then a group apartment.
        let rep_code = self.codes.old_format(ymd(1962, 4, 3));
        let rep = w.representative(
            "Dzintra",
            "Vītola",
            &rep_code,
            "Rīgas iela 31-4, Daugavpils, LV-5401",
            "+371 26455128",
            None,
        )?;
        let id = w.person(&code(SHOWCASE[3].person_code), "Līga", "Vītola")?;
        let mut s = Subject::new(id, day(1988, 11, 23), Self::municipality_index("AUGSDAUGAVA"), MENTAL, Some(rep));
        let kalkuni = Self::provider_index("VSAC-LAT-KAL");
        let a = w.application(&s, day(2020, 2, 10), KIND_MAIN, ISAR, kalkuni)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_PSYCHIATRIST, DOC_DISABILITY, DOC_REPRESENTATIVE] {
            w.document(&a, title, day(2020, 2, 10))?;
        }
        w.admit(&mut s, &a, 1, day(2020, 3, 2))?;
        w.offer(&s, &a, 6, day(2020, 8, 17), kalkuni)?;
        w.grant(&mut s, &a, 5, day(2020, 8, 24), kalkuni, day(2020, 9, 1))?;
        let fund = Self::provider_index("LO-0108");
        let b = w.application(&s, day(2021, 5, 17), KIND_SERVICE_CHANGE, PUSCELA, fund)?;
        w.document(&b, DOC_CHANGE_KIND, day(2021, 5, 17))?;
        w.admit(&mut s, &b, 11, day(2021, 6, 7))?;
        w.grant(&mut s, &b, 12, day(2021, 11, 15), fund, day(2021, 12, 1))?;
        let c = w.application(&s, day(2023, 8, 21), KIND_SERVICE_CHANGE, GRUPU_DZ, fund)?;
        w.document(&c, DOC_CHANGE_KIND, day(2023, 8, 21))?;
        w.admit(&mut s, &c, 11, day(2023, 9, 4))?;
        w.grant(&mut s, &c, 13, day(2024, 3, 18), fund, day(2024, 4, 1))?;
        w.finish(s)
    }
}
