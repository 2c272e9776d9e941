//! The generator: the fixed showcase persons (`showcase`), then random persons — who they
//! are, here — and their life stories (`stories`): application → documents → queue →
//! offers, renewals → grant or refusal → later changes, written through the row writer.
//! Same seed, same stories.
//!
//! The client mix is Regulation No. 587's: state-funded long-term care is for adults with
//! severe mental disorders (of working age and elderly), children (without parental care,
//! with disabilities) while they are minors, and persons with visual impairment; each
//! applies to a provider that takes their group. Halfway houses and group apartments are
//! for adults with mental disorders of working age.

use super::random::{date_of, day, horizon, last_old_format_birth, mix, Codes, Day, Rng, Weighted};
use super::reference::{
    is_children, CHILD_DISABLED, CHILD_NO_CARE, FEMALE_NAMES, GRUPU_DZ, ISAR, MALE_NAMES, MENTAL, MUNICIPALITIES,
    PROVIDERS, PUSCELA, SERVICE_KINDS, STREETS, SURNAMES, VISION, CLIENT_GROUPS,
};
use super::writer::{Subject, Writer};
use crate::store::StoreError;

mod showcase;
mod stories;

/// Ērika's two queues, and how many random persons (with visual impairment, as she) are
/// made to wait in them ahead of her, alternately.
const ERIKA_QUEUES: [&str; 2] = ["VSAC-RIG-EZE", "LO-0110"];
const ERIKA_NEIGHBOURS: u64 = 6;

/// Persons waiting for state-funded long-term care in the whole country (seed 002).
pub(super) const WAITING_IN_THE_COUNTRY: u64 = 2_600;

/// Days from birth to the 18th birthday, at the least.
const ADULTHOOD: Day = 18 * 365 + 4;

pub(super) struct Generator {
    seed: u64,
    codes: Codes,
    horizon: Day,
    /// Providers offering each service kind to each client group (`[kind][group]`),
    /// weighted by how often they are asked for.
    providers: Vec<Vec<Weighted>>,
    municipalities: Weighted,
    /// Per million of random persons still waiting at the horizon.
    waiting_per_million: u64,
}

impl Generator {
    pub(super) fn new(seed: u64) -> Self {
        let providers = (0..SERVICE_KINDS.len())
            .map(|kind| {
                (0..CLIENT_GROUPS.len())
                    .map(|group| {
                        Weighted::new(
                            PROVIDERS.iter().enumerate().filter(|(_, p)| p.serves(kind, group)).map(|(i, p)| (i, p.weight)),
                        )
                    })
                    .collect()
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

    /// One random person and their applications. Person `index` always gets the same story.
    pub(super) fn random_person(&mut self, w: &mut Writer<'_>, index: u64) -> Result<(), StoreError> {
        let mut rng = Rng::new(mix(self.seed ^ mix(index.wrapping_add(1))));
        // The first few random persons wait ahead of Ērika, so that her positions show
        // places ahead even in a small register.
        let neighbour = ERIKA_QUEUES.get(index as usize % ERIKA_QUEUES.len()).filter(|_| index < ERIKA_NEIGHBOURS);
        let waiting = rng.below(1_000_000) < self.waiting_per_million;
        let group = if neighbour.is_some() {
            VISION
        } else {
            match rng.below(100) {
                0..78 => MENTAL,
                78..86 => VISION,
                86..94 => CHILD_DISABLED,
                _ => CHILD_NO_CARE,
            }
        };
        let born = self.birth(&mut rng, group, waiting);
        let birth = date_of(born);
        let code = if rng.percent(9) || birth > last_old_format_birth() {
            self.codes.new_format()
        } else {
            self.codes.old_format(birth)
        };
        let female = rng.percent(match group {
            MENTAL => 48,
            VISION => 62,
            _ => 45,
        });
        let surname = rng.pick(SURNAMES);
        let (first_name, surname) =
            if female { (*rng.pick(FEMALE_NAMES), surname.1) } else { (*rng.pick(MALE_NAMES), surname.0) };
        let municipality = self.municipalities.pick(&mut rng);
        // A minor always has a legal representative (a parent, a guardian or the orphan's
        // court's appointee); adults now and then (a guardian, a relative).
        let represented = is_children(group) || rng.percent(if group == MENTAL { 40 } else { 25 });
        let representative = if represented {
            Some(self.random_representative(w, &mut rng, born, group, surname, municipality)?)
        } else {
            None
        };
        let id = w.person(&code, first_name, surname)?;
        let mut s = Subject::new(id, born, municipality, group, representative);
        if let Some(provider) = neighbour {
            let submitted = rng.between(day(2021, 1, 1), day(2024, 6, 30));
            self.main_application(w, &mut rng, &mut s, submitted, ISAR, Self::provider_index(provider), true)?;
        } else if waiting {
            self.waiting_story(w, &mut rng, &mut s)?;
        } else {
            self.closed_story(w, &mut rng, &mut s)?;
        }
        w.finish(s)
    }

    /// The day of birth of a person of `group`: adults with mental disorders of working age
    /// (two in three) and elderly; persons with visual impairment mostly older; children
    /// born so that they apply as minors (without parental care: small children) within
    /// the days their story applies on, and are minors still if `waiting` at the horizon.
    fn birth(&self, rng: &mut Rng, group: usize, waiting: bool) -> Day {
        match group {
            MENTAL if rng.percent(65) => rng.between(day(1960, 1, 1), day(1996, 12, 31)),
            MENTAL => rng.between(day(1935, 1, 1), day(1959, 12, 31)),
            VISION => rng.between(day(1930, 1, 1), day(1985, 12, 31)),
            _ => {
                let (first, last) = if waiting { self.waiting_window() } else { self.closed_window() };
                let earliest = first - last_application_age(group) + 1;
                let earliest = if waiting { earliest.max(self.horizon - ADULTHOOD + 1) } else { earliest };
                rng.between(earliest, last - 30)
            }
        }
    }

    /// A relative or a guardian: a parent of a child or of a younger adult, a grown child of
    /// an older one; for a child without parental care, a guardian of another family.
    fn random_representative(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        born: Day,
        group: usize,
        family: &str,
        municipality: usize,
    ) -> Result<i64, StoreError> {
        let years = if group == CHILD_NO_CARE {
            rng.between(25, 55)
        } else if is_children(group) || born >= day(1970, 1, 1) {
            rng.between(20, 35)
        } else {
            -rng.between(20, 40)
        };
        let rep_born = (born + years * 365 + rng.between(0, 300)).clamp(day(1930, 1, 1), day(2004, 12, 31));
        let code = self.codes.old_format(date_of(rep_born));
        let female = rng.percent(60);
        let same_family = group != CHILD_NO_CARE && rng.percent(if group == CHILD_DISABLED { 85 } else { 65 });
        let pair = if same_family {
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

    /// The days on which a person waiting at the horizon applied.
    fn waiting_window(&self) -> (Day, Day) {
        (day(2021, 1, 1), self.horizon - 60)
    }

    /// The days on which a person no longer waiting first applied: early enough for the
    /// outcome to lie before the horizon.
    fn closed_window(&self) -> (Day, Day) {
        (day(2015, 1, 1), self.horizon - 490)
    }

    /// The service kind of an application: halfway houses and group apartments for a third
    /// of the adults with mental disorders under 50, the institution for everyone else.
    fn choose_kind(&self, rng: &mut Rng, s: &Subject, submitted: Day) -> usize {
        if s.group != MENTAL || age_on(s, submitted) >= 50 {
            return ISAR;
        }
        match rng.below(100) {
            0..70 => ISAR,
            70..85 => GRUPU_DZ,
            _ => PUSCELA,
        }
    }

    /// A provider of service `kind` for client `group`. Only kinds the group is offered
    /// are asked for (`choose_kind`), and every such pair has providers (a test holds it).
    fn pick_provider(&self, rng: &mut Rng, kind: usize, group: usize) -> usize {
        self.providers[kind][group].pick(rng)
    }

    /// A provider of the same kind for the same group other than `current`, if one turns up.
    fn other_provider(&self, rng: &mut Rng, kind: usize, group: usize, current: usize) -> usize {
        for _ in 0..8 {
            let p = self.pick_provider(rng, kind, group);
            if p != current {
                return p;
            }
        }
        current
    }
}

/// The age in whole years of the subject on day `d`.
fn age_on(s: &Subject, d: Day) -> i32 {
    (d - s.born) * 4 / 1461
}

/// The oldest a child of `group` applies at, in days: a child without parental care while
/// small, a child with disabilities until 16, so that a wait ends before they are 18.
fn last_application_age(group: usize) -> Day {
    if group == CHILD_NO_CARE {
        4 * 365
    } else {
        16 * 365
    }
}

/// The days of `from..=to` on which the subject may apply: a child from their second month
/// until [`last_application_age`], an adult any day. `None` if there are none.
fn application_window(s: &Subject, from: Day, to: Day) -> Option<(Day, Day)> {
    let (from, to) = if is_children(s.group) {
        (from.max(s.born + 30), to.min(s.born + last_application_age(s.group)))
    } else {
        (from, to)
    };
    (from <= to).then_some((from, to))
}

/// The last day a wait for a place may last: for a child, a month before their 18th birthday.
fn last_day_of_wait(s: &Subject) -> Day {
    if is_children(s.group) {
        s.born + ADULTHOOD - 30
    } else {
        Day::MAX
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
