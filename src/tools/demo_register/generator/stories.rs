//! The life stories of random persons: a person no longer waiting (granted, perhaps changed
//! later, or refused), a person waiting now (in one queue, two, or for a change), and the
//! parts they are made of — an application from submission to its outcome, the life in the
//! queue, a change of provider or of service kind.

use super::super::random::{day, Day, Rng};
use super::super::reference::{
    is_children, CHILD_DISABLED, CHILD_NO_CARE, DOC_APPLICATION, DOC_ASSESSMENT, DOC_CHANGE_KIND, DOC_CHANGE_PROVIDER,
    DOC_DISABILITY, DOC_GP, DOC_MUNICIPAL, DOC_ORPHANS_COURT, DOC_PSYCHIATRIST, DOC_RENEWED, DOC_REPRESENTATIVE, GRUPU_DZ,
    ISAR, KIND_MAIN, KIND_PROVIDER_CHANGE, KIND_SERVICE_CHANGE, MENTAL, PUSCELA, REFUSAL_NEEDS_TREATMENT,
    REFUSAL_NOT_ELIGIBLE, RENEWAL_REQUEST, REQUESTS, VISION,
};
use super::super::writer::{App, Subject, Writer};
use super::{age_on, application_window, last_day_of_wait, refusal_for_missing, Generator};
use crate::store::StoreError;

/// How an application ended (as far as the data horizon reaches).
pub(super) enum Outcome {
    Waiting,
    Refused(Day),
    /// Declined an offered place and was not restored to the queue.
    Declined,
    Granted { on: Day, app: App },
}

impl Generator {
    /// A person no longer waiting: granted (perhaps changed later) or refused.
    pub(super) fn closed_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let (first, last) = self.closed_window();
        let Some((first, last)) = application_window(s, first, last) else { return Ok(()) };
        let mut submitted = rng.between(first, last);
        for attempt in 0..3 {
            let kind = self.choose_kind(rng, s, submitted);
            let provider = self.pick_provider(rng, kind, s.group);
            match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                Outcome::Refused(on) if attempt < 2 && rng.percent(40) => {
                    submitted = on + rng.between(60, 700);
                    if submitted > last {
                        break;
                    }
                }
                Outcome::Granted { on, app } => {
                    let change = if may_change_kind(s, &app, on) { 25 } else { 8 };
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
    pub(super) fn waiting_story(&mut self, w: &mut Writer<'_>, rng: &mut Rng, s: &mut Subject) -> Result<(), StoreError> {
        let r = rng.below(100);
        if r < 12 {
            if let Some((first, last)) = application_window(s, day(2015, 1, 1), day(2021, 12, 31)) {
                let submitted = rng.between(first, last);
                let kind = self.choose_kind(rng, s, submitted);
                let provider = self.pick_provider(rng, kind, s.group);
                // Granted long enough ago: waiting for a change now. Refused, or granted too late
                // for a change (or a child, who makes none): they applied again and wait now.
                let waits_for_change = match self.main_application(w, rng, s, submitted, kind, provider, false)? {
                    Outcome::Granted { on, app } if on + 180 < self.horizon => self.change(w, rng, s, on, &app, false)?,
                    _ => false,
                };
                if waits_for_change {
                    return Ok(());
                }
            }
        }
        let (first, last) = self.waiting_window();
        let Some((first, last)) = application_window(s, first, last) else { return Ok(()) };
        let submitted = rng.between(first, last);
        let kind = self.choose_kind(rng, s, submitted);
        let provider = self.pick_provider(rng, kind, s.group);
        self.main_application(w, rng, s, submitted, kind, provider, true)?;
        if (12..24).contains(&r) && !is_children(s.group) {
            // A second application to another provider, waiting in both queues.
            let second = (submitted + rng.between(0, 200)).min(last);
            let other = self.other_provider(rng, kind, s.group, provider);
            if other != provider {
                self.main_application(w, rng, s, second, kind, other, true)?;
            }
        }
        Ok(())
    }

    /// An application for a service, from submission to its outcome (or the horizon if
    /// `waiting`): documents, maybe a letter asking for more, admission, waiting, grant or refusal.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn main_application(
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
            (DOC_PSYCHIATRIST, s.group == MENTAL),
            (DOC_DISABILITY, s.group == VISION || s.group == CHILD_DISABLED || (s.group == MENTAL && rng.percent(60))),
            (DOC_ORPHANS_COURT, s.group == CHILD_NO_CARE),
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
        // Waits of a few months to four years; the outcome lies well before the horizon, and
        // a child's before they come of age.
        let long = rng.percent(30);
        let wait = if long { rng.between(365, 1460) } else { rng.between(45, 365) };
        let end = (decided + wait).min(self.horizon - 60).min(last_day_of_wait(s)).max(decided + 30);
        if !self.wait(w, rng, s, &app, decided, end, true)? {
            return Ok(Outcome::Declined);
        }
        if rng.percent(4) {
            w.refuse(s, &app, end, REFUSAL_NEEDS_TREATMENT)?;
            return Ok(Outcome::Refused(end));
        }
        let place = if rng.percent(85) { provider } else { self.other_provider(rng, kind, s.group, provider) };
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
            let place = self.other_provider(rng, app.kind, s.group, app.provider);
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

    /// After a grant: a second application to change provider (4, 9, then 10) or, for an
    /// adult with a mental disorder under 50 in an institution, service kind (11, then 12 or
    /// 13). When `conclude` is false the person is still waiting for the change at the
    /// horizon. Children make no changes (they would come of age in the queue). Returns
    /// whether a change was written.
    pub(super) fn change(
        &mut self,
        w: &mut Writer<'_>,
        rng: &mut Rng,
        s: &mut Subject,
        granted: Day,
        granted_app: &App,
        conclude: bool,
    ) -> Result<bool, StoreError> {
        if is_children(s.group) {
            return Ok(false);
        }
        let start = if conclude {
            let start = granted + rng.between(120, 900);
            if start + 45 + 500 + 30 > self.horizon {
                return Ok(false);
            }
            start
        } else {
            rng.between(granted + 60, self.horizon - 60)
        };
        let admitted = start + rng.between(14, 45);
        let decided = admitted + rng.between(60, 500);
        if may_change_kind(s, granted_app, granted) && rng.percent(70) {
            let kind = if rng.percent(50) { PUSCELA } else { GRUPU_DZ };
            let provider = self.pick_provider(rng, kind, s.group);
            let app = w.application(s, start, KIND_SERVICE_CHANGE, kind, provider)?;
            w.document(&app, DOC_CHANGE_KIND, start)?;
            w.admit(s, &app, 11, admitted)?;
            if conclude {
                let grant_kind = if kind == PUSCELA { 12 } else { 13 };
                w.grant(s, &app, grant_kind, decided, provider, decided + rng.between(7, 30))?;
            }
        } else {
            let provider = self.other_provider(rng, granted_app.kind, s.group, granted_app.provider);
            let app = w.application(s, start, KIND_PROVIDER_CHANGE, granted_app.kind, provider)?;
            w.document(&app, DOC_CHANGE_PROVIDER, start)?;
            w.note(s, &app, 4, start)?;
            w.admit(s, &app, 9, admitted)?;
            if conclude {
                w.grant(s, &app, 10, decided, provider, decided + rng.between(7, 30))?;
            }
        }
        Ok(true)
    }
}

/// Whether a grant may be followed by a change of service kind: an adult with a mental
/// disorder under 50 in an institution may move on to a halfway house or a group apartment.
fn may_change_kind(s: &Subject, app: &App, granted: Day) -> bool {
    s.group == MENTAL && app.kind == ISAR && age_on(s, granted) < 50
}
