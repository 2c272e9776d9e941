//! The generator: the fixed showcase persons, then random life stories that follow the
//! real process (application → documents → queue → offers, renewals → grant or refusal →
//! later changes), written through the row writer. Same seed, same stories.

use chrono::{Datelike, NaiveDate};

use super::random::{day, horizon, mix, ymd, Codes, Day, Rng, Weighted, FIRST_DAY};
use super::reference::{
    CHILD_DISABLED, CHILD_NO_CARE, MENTAL, VISION,
    DOC_APPLICATION, DOC_ASSESSMENT, DOC_CHANGE_KIND, DOC_CHANGE_PROVIDER, DOC_DISABILITY, DOC_GP, DOC_INCOME,
    DOC_MUNICIPAL, DOC_PSYCHIATRIST, DOC_RENEWED, DOC_REPRESENTATIVE, FEMALE_NAMES, GRUPU_DZ, ISAR_B, ISAR_P, ISAR_RV,
    KIND_MAIN, KIND_PROVIDER_CHANGE, KIND_SERVICE_CHANGE, MALE_NAMES, MUNICIPALITIES, PROVIDERS, PUSCELA,
    REFUSAL_NEEDS_TREATMENT, REFUSAL_NOT_ELIGIBLE, RENEWAL_REQUEST, REQUESTS, SERVICE_KINDS, STREETS, SURNAMES,
};
use super::writer::{App, Subject, Writer};
use super::SHOWCASE;
use crate::personal_code::PersonalCode;
use crate::store::StoreError;

/// Ērika's two queues (ISAR-P), and how many random persons are made to wait in them
/// ahead of her, alternately.
const ERIKA_QUEUES: [&str; 2] = ["VSAC-RIG-EZE", "PP-0201"];
const ERIKA_NEIGHBOURS: u64 = 6;

/// Persons waiting for state-funded long-term care in the whole country (seed 002).
pub(super) const WAITING_IN_THE_COUNTRY: u64 = 2_600;

/// How an application ended (as far as the data horizon reaches).
enum Outcome {
    Waiting,
    Refused(Day),
    /// Declined an offered place and was not restored to the queue.
    Declined,
    Granted { on: Day, app: App },
}

pub(super) struct Generator {
    seed: u64,
    codes: Codes,
    horizon: Day,
    /// Providers offering each service kind, weighted by how often they are asked for.
    providers: Vec<Weighted>,
    municipalities: Weighted,
    /// Per million of random persons still waiting at the horizon.
    waiting_per_million: u64,
}

impl Generator {
    pub(super) fn new(seed: u64) -> Self {
        let providers = (0..SERVICE_KINDS.len())
            .map(|kind| {
                Weighted::new(
                    PROVIDERS
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.kinds & (1 << kind) != 0)
                        .map(|(i, p)| (i, p.weight)),
                )
            })
            .collect();
        Generator {
            seed,
            codes: Codes::new(),
            horizon: horizon(),
            providers,
            municipalities: Weighted::new(MUNICIPALITIES.iter().enumerate().map(|(i, m)| (i, m.6))),
            waiting_per_million: 350_000,
        }
    }

    /// About 2,600 persons wait for state-funded places in the whole country (seed 002: 2,604
    /// on 1 July 2009), and the benchmark's register of 2 million persons is the whole country;
    /// small registers get a third waiting so that their queues are not empty.
    pub(super) fn set_waiting_share(&mut self, random_persons: u64) {
        self.waiting_per_million =
            (WAITING_IN_THE_COUNTRY * 1_000_000).checked_div(random_persons).map_or(350_000, |share| share.clamp(1, 350_000));
    }

    /// How many of `random_persons` are made to wait (in expectation).
    #[cfg(test)]
    pub(super) fn expected_waiting(&self, random_persons: u64) -> u64 {
        random_persons * self.waiting_per_million / 1_000_000
    }

    fn provider_index(code: &str) -> usize {
        PROVIDERS.iter().position(|p| p.code == code).expect("showcase providers are in PROVIDERS")
    }

    fn municipality_index(code: &str) -> usize {
        MUNICIPALITIES.iter().position(|m| m.0 == code).expect("showcase municipalities are in MUNICIPALITIES")
    }

    /// The fixed persons of [`SHOWCASE`], written first and always the same.
    pub(super) fn showcase(&mut self, w: &mut Writer<'_>) -> Result<(), StoreError> {
        let code = |text: &str| PersonalCode::parse(text).expect("showcase codes are valid");
        let eze = Self::provider_index("VSAC-RIG-EZE");

        // Ērika Kalniņa: waits in two queues.
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
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1942,
            municipality: Self::municipality_index("RIGA"),
            group: VISION,
            representative: Some(rep),
            entries: Vec::new(),
        };
        let a = w.application(&s, day(2024, 9, 16), KIND_MAIN, ISAR_P, eze)?;
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
        let b = w.application(&s, day(2025, 2, 3), KIND_MAIN, ISAR_P, Self::provider_index("PP-0201"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_REPRESENTATIVE] {
            w.document(&b, title, day(2025, 2, 3))?;
        }
        w.admit(&mut s, &b, 1, day(2025, 2, 24))?;
        w.finish(s)?;

        // Jānis Bērziņš: declined one place, granted another, then changed provider.
        let id = w.person(&code(SHOWCASE[1].person_code), "Jānis", "Bērziņš")?;
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1948,
            municipality: Self::municipality_index("SIGULDA"),
            group: MENTAL,
            representative: None,
            entries: Vec::new(),
        };
        let allazi = Self::provider_index("VSAC-VID-ALL");
        let a = w.application(&s, day(2019, 5, 6), KIND_MAIN, ISAR_P, allazi)?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT, DOC_GP, DOC_INCOME] {
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
        let b = w.application(&s, day(2023, 4, 12), KIND_PROVIDER_CHANGE, ISAR_P, eze)?;
        w.document(&b, DOC_CHANGE_PROVIDER, day(2023, 4, 12))?;
        w.note(&s, &b, 4, day(2023, 4, 12))?;
        w.admit(&mut s, &b, 9, day(2023, 5, 2))?;
        w.grant(&mut s, &b, 10, day(2024, 1, 15), eze, day(2024, 2, 1))?;
        w.finish(s)?;

        // Aivars Ozoliņš: asked for a document, never sent it, refused.
        let id = w.person(&code(SHOWCASE[2].person_code), "Aivars", "Ozoliņš")?;
        let mut s = Subject {
            id,
            young: false,
            birth_year: 1961,
            municipality: Self::municipality_index("TALSI"),
            group: MENTAL,
            representative: None,
            entries: Vec::new(),
        };
        let a = w.application(&s, day(2023, 3, 13), KIND_MAIN, ISAR_P, Self::provider_index("PP-0202"))?;
        for title in [DOC_APPLICATION, DOC_ASSESSMENT] {
            w.document(&a, title, day(2023, 3, 13))?;
        }
        w.note(&s, &a, 15, day(2023, 3, 27))?;
        w.request(&a, day(2023, 3, 27), REQUESTS[0].0, day(2023, 4, 26), None)?;
        w.refuse(&mut s, &a, day(2023, 5, 15), &refusal_for_missing(DOC_GP))?;
        w.finish(s)?;

        // Līga Vītola: institution, then a halfway house, then a group apartment.
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
        let mut s = Subject {
            id,
            young: true,
            birth_year: 1988,
            municipality: Self::municipality_index("AUGSDAUGAVA"),
            group: MENTAL,
            representative: Some(rep),
            entries: Vec::new(),
        };
        let kalkuni = Self::provider_index("VSAC-LAT-KAL");
        let a = w.application(&s, day(2020, 2, 10), KIND_MAIN, ISAR_RV, kalkuni)?;
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

    /// One random person and their applications. Person `index` always gets the same story.
    pub(super) fn random_person(&mut self, w: &mut Writer<'_>, index: u64) -> Result<(), StoreError> {
        let mut rng = Rng::new(mix(self.seed ^ mix(index.wrapping_add(1))));
        // The first few random persons wait ahead of Ērika, so that her positions show
        // places ahead even in a small register.
        let neighbour = ERIKA_QUEUES.get(index as usize % ERIKA_QUEUES.len()).filter(|_| index < ERIKA_NEIGHBOURS);
        let young = neighbour.is_none() && rng.percent(18);
        let female = rng.percent(if young { 45 } else { 62 });
        let birth = if young {
            ymd(1970, 1, 1) + chrono::Days::new(rng.below(39 * 365))
        } else {
            ymd(1925, 1, 1) + chrono::Days::new(rng.below(41 * 365))
        };
        let code = if rng.percent(9) { self.codes.new_format() } else { self.codes.old_format(birth) };
        let surname = rng.pick(SURNAMES);
        let (first_name, surname) =
            if female { (*rng.pick(FEMALE_NAMES), surname.1) } else { (*rng.pick(MALE_NAMES), surname.0) };
        let municipality = self.municipalities.pick(&mut rng);
        // Children's institutions for the young who may apply as minors, care for the severe
        // mental disorders of adults, a tenth for persons with visual impairment.
        let group = if young {
            match (birth.year() >= 1998, index % 2) {
                (true, 0) => CHILD_DISABLED,
                (true, _) => CHILD_NO_CARE,
                (false, _) => MENTAL,
            }
        } else if mix(index) % 10 == 0 {
            VISION
        } else {
            MENTAL
        };
        // Whoever may apply as a minor has a legal representative (a parent, a guardian or the
        // orphan's court's appointee); adults now and then (a guardian, a relative).
        let representative = if group == CHILD_DISABLED || group == CHILD_NO_CARE || rng.percent(if young { 50 } else { 33 }) {
            Some(self.random_representative(w, &mut rng, birth, young, surname, municipality)?)
        } else {
            None
        };
        let id = w.person(&code, first_name, surname)?;
        let mut s =
            Subject { id, young, birth_year: birth.year(), municipality, group, representative, entries: Vec::new() };
        let waiting = rng.below(1_000_000) < self.waiting_per_million;
        if let Some(provider) = neighbour {
            let submitted = rng.between(day(2021, 1, 1), day(2024, 6, 30));
            self.main_application(w, &mut rng, &mut s, submitted, ISAR_P, Self::provider_index(provider), true)?;
        } else if waiting {
            self.waiting_story(w, &mut rng, &mut s)?;
        } else {
            self.closed_story(w, &mut rng, &mut s)?;
        }
        w.finish(s)
    }

    /// A relative: a child of an elderly person, a parent of a younger one.
    fn random_representative(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        birth: NaiveDate,
        young: bool,
        family: &str,
        municipality: usize,
    ) -> Result<i64, StoreError> {
        let years = if young { -rng.between(20, 35) } else { rng.between(20, 40) };
        let rep_birth = ymd((birth.year() + years).clamp(1930, 2004), birth.month(), 1)
            + chrono::Days::new(rng.below(27));
        let code = self.codes.old_format(rep_birth);
        let female = rng.percent(60);
        let pair = if rng.percent(65) {
            *SURNAMES.iter().find(|p| p.0 == family || p.1 == family).unwrap_or(rng.pick(SURNAMES))
        } else {
            *rng.pick(SURNAMES)
        };
        let (first_name, surname) =
            if female { (*rng.pick(FEMALE_NAMES), pair.1) } else { (*rng.pick(MALE_NAMES), pair.0) };
        let m = &MUNICIPALITIES[municipality];
        let address = format!(
            "{} {}-{}, {}, {}",
            rng.pick(STREETS),
            rng.between(1, 140),
            rng.between(1, 60),
            m.3,
            m.4
        );
        let phone = mobile_phone(rng);
        let email = rng
            .percent(40)
            .then(|| format!("{}.{}@inbox.lv", ascii_lower(first_name), ascii_lower(surname)));
        w.representative(first_name, surname, &code, &address, &phone, email.as_deref())
    }

    /// A person no longer waiting: granted (perhaps changed later) or refused.
    fn closed_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let last_submission = self.horizon - 490;
        let mut submitted = rng.between(day(2015, 1, 1), last_submission);
        for attempt in 0..3 {
            let kind = self.choose_kind(rng, s, submitted);
            let provider = self.providers[kind].pick(rng);
            match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                Outcome::Refused(on) if attempt < 2 && rng.percent(40) => {
                    submitted = on + rng.between(60, 700);
                    if submitted > last_submission {
                        break;
                    }
                }
                Outcome::Granted { on, app } => {
                    let change = if s.young && app.kind == ISAR_RV { 25 } else { 8 };
                    if rng.percent(change) {
                        self.change(w, rng, s, on, &app, true)?;
                    }
                    break;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// A person waiting now: in one queue, in two, or for a change after an earlier grant.
    fn waiting_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let last_submission = self.horizon - 60;
        let r = rng.below(100);
        if r < 12 {
            let submitted = rng.between(day(2015, 1, 1), day(2021, 12, 31));
            let kind = self.choose_kind(rng, s, submitted);
            let provider = self.providers[kind].pick(rng);
            match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                Outcome::Granted { on, app } if on + 180 < self.horizon => {
                    return self.change(w, rng, s, on, &app, false);
                }
                // Refused, or granted too late for a change: they applied again and wait now.
                _ => {}
            }
        }
        let submitted = rng.between(day(2021, 1, 1), last_submission);
        let kind = self.choose_kind(rng, s, submitted);
        let provider = self.providers[kind].pick(rng);
        self.main_application(w, rng, s, submitted, kind, provider, true)?;
        if (12..24).contains(&r) && !s.young {
            // A second application to another provider, waiting in both queues.
            let second = (submitted + rng.between(0, 200)).min(last_submission);
            let other = self.other_provider(rng, kind, provider);
            if other != provider {
                self.main_application(w, rng, s, second, kind, other, true)?;
            }
        }
        Ok(())
    }

    fn choose_kind(&self, rng: &mut Rng, s: &Subject, submitted: Day) -> usize {
        if !s.young {
            return if rng.percent(92) { ISAR_P } else { ISAR_RV };
        }
        let year = FIRST_DAY.0 + submitted / 365;
        if year - s.birth_year < 18 {
            return ISAR_B;
        }
        match rng.below(100) {
            0..60 => ISAR_RV,
            60..80 => GRUPU_DZ,
            _ => PUSCELA,
        }
    }

    /// A provider of the same kind other than `current`, if one turns up.
    fn other_provider(&self, rng: &mut Rng, kind: usize, current: usize) -> usize {
        for _ in 0..8 {
            let p = self.providers[kind].pick(rng);
            if p != current {
                return p;
            }
        }
        current
    }

    /// An application for a service, from submission to its outcome (or the horizon if
    /// `waiting`): documents, maybe a letter asking for more, admission, waiting, grant or refusal.
    #[allow(clippy::too_many_arguments)]
    fn main_application(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        submitted: Day,
        kind: usize,
        provider: usize,
        waiting: bool,
    ) -> Result<Outcome, StoreError> {
        let app = w.application(s, submitted, KIND_MAIN, kind, provider)?;
        w.document(&app, DOC_APPLICATION, submitted)?;
        w.document(&app, DOC_ASSESSMENT, submitted)?;
        let mut missing = Vec::with_capacity(2);
        for (title, present) in [
            (DOC_GP, rng.percent(75)),
            (DOC_MUNICIPAL, rng.percent(60)),
            (DOC_PSYCHIATRIST, kind == ISAR_RV || kind == PUSCELA),
            (DOC_DISABILITY, s.young || rng.percent(25)),
            (DOC_REPRESENTATIVE, s.representative.is_some()),
        ] {
            if present {
                w.document(&app, title, submitted + rng.between(0, 3))?;
            } else if title == DOC_GP || title == DOC_MUNICIPAL {
                missing.push(title);
            }
        }
        let mut t = submitted + rng.between(5, 20);
        if !missing.is_empty() && rng.percent(35) {
            let title = *rng.pick(&missing);
            let (description, _) = REQUESTS.iter().find(|r| r.1 == title).copied().unwrap_or(REQUESTS[0]);
            w.note(s, &app, 15, t)?;
            let due = t + 30;
            if !waiting && rng.percent(20) {
                w.request(&app, t, description, due, None)?;
                let on = due + rng.between(10, 40);
                w.refuse(s, &app, on, &refusal_for_missing(title))?;
                return Ok(Outcome::Refused(on));
            }
            let fulfilled = t + rng.between(4, 28);
            w.request(&app, t, description, due, Some(fulfilled))?;
            w.document(&app, title, fulfilled)?;
            t = fulfilled;
        }
        let decided = (t + rng.between(7, 35)).min(self.horizon);
        if !waiting && rng.percent(6) {
            w.refuse(s, &app, decided, REFUSAL_NOT_ELIGIBLE)?;
            return Ok(Outcome::Refused(decided));
        }
        w.admit(s, &app, 1, decided)?;
        if waiting {
            self.wait(w, rng, s, &app, decided, self.horizon, false)?;
            return Ok(Outcome::Waiting);
        }
        // Waits of a few months to four years; the outcome lies well before the horizon.
        let long = rng.percent(30);
        let wait = if long { rng.between(365, 1460) } else { rng.between(45, 365) };
        let end = (decided + wait).min(self.horizon - 60).max(decided + 30);
        if !self.wait(w, rng, s, &app, decided, end, true)? {
            return Ok(Outcome::Declined);
        }
        if rng.percent(4) {
            w.refuse(s, &app, end, REFUSAL_NEEDS_TREATMENT)?;
            return Ok(Outcome::Refused(end));
        }
        let place = if rng.percent(85) { provider } else { self.other_provider(rng, kind, provider) };
        w.offer(s, &app, 6, end, place)?;
        let on = end + rng.between(3, 14);
        let from = on + rng.between(5, 25);
        let grant_kind = if kind == PUSCELA { 12 } else { 5 };
        w.grant(s, &app, grant_kind, on, place, from)?;
        Ok(Outcome::Granted { on, app })
    }

    /// Life in the queue between `from` and `until`: yearly document renewals (2, 3) and
    /// perhaps a place offered and declined (6, 7), usually followed by restoration to the
    /// queue (8); when `may_leave`, a third of those who decline are not restored and wait no
    /// more (returns false).
    #[allow(clippy::too_many_arguments)]
    fn wait(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        app: &App,
        from: Day,
        until: Day,
        may_leave: bool,
    ) -> Result<bool, StoreError> {
        let mut until = until;
        if until - from > 120 && rng.percent(25) {
            let offered = from + 30 + rng.between(0, until - from - 90);
            let place = self.other_provider(rng, app.kind, app.provider);
            w.offer(s, app, 6, offered, place)?;
            let declined = offered + rng.between(1, 7);
            w.offer(s, app, 7, declined, place)?;
            if may_leave && rng.percent(33) {
                w.withdraw(s, app);
                until = declined;
            } else {
                w.note(s, app, 8, offered + rng.between(10, 30))?;
            }
        }
        let mut renewal = from + rng.between(330, 400);
        while renewal < until {
            w.note(s, app, 2, renewal)?;
            let renewed = renewal + rng.between(7, 35);
            if renewed < until {
                w.request(app, renewal, RENEWAL_REQUEST, renewal + 30, Some(renewed))?;
                w.document(app, DOC_RENEWED, renewed)?;
                w.note(s, app, 3, renewed)?;
            } else {
                w.request(app, renewal, RENEWAL_REQUEST, renewal + 30, None)?;
            }
            renewal += rng.between(330, 400);
        }
        Ok(until > from && s.waits_for(app))
    }

    /// After a grant: a second application to change provider (4, 9, then 10) or, for a
    /// younger person in an institution, service kind (11, then 12 or 13). When `conclude`
    /// is false the person is still waiting for the change at the horizon.
    fn change(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        granted: Day,
        granted_app: &App,
        conclude: bool,
    ) -> Result<(), StoreError> {
        let start = if conclude {
            let start = granted + rng.between(120, 900);
            if start + 45 + 500 + 30 > self.horizon {
                return Ok(());
            }
            start
        } else {
            rng.between(granted + 60, self.horizon - 60)
        };
        let admitted = start + rng.between(14, 45);
        let decided = admitted + rng.between(60, 500);
        if s.young && granted_app.kind == ISAR_RV && rng.percent(70) {
            let kind = if rng.percent(50) { PUSCELA } else { GRUPU_DZ };
            let provider = self.providers[kind].pick(rng);
            let app = w.application(s, start, KIND_SERVICE_CHANGE, kind, provider)?;
            w.document(&app, DOC_CHANGE_KIND, start)?;
            w.admit(s, &app, 11, admitted)?;
            if conclude {
                let grant_kind = if kind == PUSCELA { 12 } else { 13 };
                w.grant(s, &app, grant_kind, decided, provider, decided + rng.between(7, 30))?;
            }
        } else {
            let provider = self.other_provider(rng, granted_app.kind, granted_app.provider);
            let app = w.application(s, start, KIND_PROVIDER_CHANGE, granted_app.kind, provider)?;
            w.document(&app, DOC_CHANGE_PROVIDER, start)?;
            w.note(s, &app, 4, start)?;
            w.admit(s, &app, 9, admitted)?;
            if conclude {
                w.grant(s, &app, 10, decided, provider, decided + rng.between(7, 30))?;
            }
        }
        Ok(())
    }
}

/// A Latvian mobile number: 8 digits from a prefix the operators use.
pub(super) fn mobile_phone(rng: &mut Rng) -> String {
    const PREFIXES: [u32; 8] = [20, 22, 23, 25, 26, 27, 28, 29];
    format!("+371 {}{:06}", rng.pick(&PREFIXES), rng.below(1_000_000))
}

/// The reason of a refusal for a document asked for and never sent (its title).
fn refusal_for_missing(title: &str) -> String {
    let mut chars = title.chars();
    let lower: String = chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default();
    format!("Noteiktajā termiņā nav iesniegti pieprasītie dokumenti ({lower})")
}

/// Lower-case ASCII for an e-mail address: Latvian letters without their diacritics.
pub(super) fn ascii_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'ā' => 'a',
            'č' => 'c',
            'ē' => 'e',
            'ģ' => 'g',
            'ī' => 'i',
            'ķ' => 'k',
            'ļ' => 'l',
            'ņ' => 'n',
            'š' => 's',
            'ū' => 'u',
            'ž' => 'z',
            other => other,
        })
        .collect()
}
