//! The printout the seeds describe (`seeds/000_…txt`, DOMAIN.md "The printout"): a PDF with
//! the header "Dati par personas sociālo pakalpojumu iesniegumiem un lēmumiem informācijas
//! sistēmā SPOLIS", the person's name and personal code, the applications (EP115), the queue
//! status (EP116) in the two tables of the sample with the same columns, the current queue
//! positions, and on every page the footer "Sagatavoja: <operator>, <printing time>".
//!
//! Input: both answers, the operator's name and the printing time. Output: the PDF's bytes,
//! with DejaVu Sans (compiled in from `assets/fonts/`) embedded so that every Latvian letter
//! renders and can be searched. Never adds data the answers do not hold.

use chrono::NaiveDateTime;

use super::pdf::{Document, FontId, PAGE_HEIGHT, PAGE_WIDTH};
use super::table::{data_as_of, day, position_row, representative_line, wait_bases};
use crate::model::{Application, ApplicationList, QueueEvent, QueueEventKind, QueueStatusList};

const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

pub const TITLE: &str = "Dati par personas sociālo pakalpojumu iesniegumiem un lēmumiem informācijas sistēmā SPOLIS";
const MARGIN: f32 = 45.0;
const FOOTER_SPACE: f32 = 45.0;
const BODY_SIZE: f32 = 9.5;
const TABLE_SIZE: f32 = 8.0;

/// What goes on the printout.
pub struct PrintoutInput<'a> {
    /// The personal code asked about (shown even when the register knows nothing of it).
    pub person_code: &'a str,
    pub applications: &'a ApplicationList,
    pub queue: &'a QueueStatusList,
    /// "First Surname" of the operator.
    pub operator_name: &'a str,
    /// The day the register is shown as of, when the request named one ("Stāvoklis uz").
    pub as_of: Option<chrono::NaiveDate>,
    pub printed_at: NaiveDateTime,
}

/// The PDF's bytes.
pub fn render(input: &PrintoutInput<'_>) -> anyhow::Result<Vec<u8>> {
    let layout = lay_out(input)?;
    let regular = layout.regular;
    let footer = format!("Sagatavoja: {}, {}", input.operator_name, input.printed_at.format("%d.%m.%Y %H:%M"));
    let mut document = layout.document;
    let pages = document.page_count();
    for index in 0..pages {
        let page_label = format!("{}. lpp. no {pages}", index + 1);
        let label_width = document.measure(regular, 8.0, &page_label);
        let mut page = document.on_page(index);
        page.line(MARGIN, 38.0, PAGE_WIDTH - MARGIN, 38.0, 0.5, 0.6);
        page.text(regular, 8.0, MARGIN, 26.0, &footer);
        page.text(regular, 8.0, PAGE_WIDTH - MARGIN - label_width, 26.0, &page_label);
    }
    document.finish()
}

/// "Notikuma statuss" as seed 000 shows it: the status word the event puts the application in
/// ("Uzņemts rindā"), with the event's label where the word alone would hide what happened
/// (a restoration, a change of provider or service kind, a halfway house); the label alone for
/// the events that set no status (document renewal, an application to change institution).
pub(crate) fn event_status(kind: QueueEventKind) -> String {
    use QueueEventKind::*;
    match kind.sets_status() {
        None => capitalised(kind.label()),
        Some(status) => match kind {
            RestoredToQueue
            | AdmittedToQueueForProviderChange
            | ProviderChanged
            | AdmittedToQueueForServiceKindChange
            | HalfwayHouseGranted
            | ServiceKindChanged => format!("{} ({})", status.label(), kind.label()),
            _ => status.label().to_string(),
        },
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Everything but the footers, laid out page by page.
fn lay_out(input: &PrintoutInput<'_>) -> anyhow::Result<Layout> {
    let mut document = Document::new(TITLE);
    let regular = document.add_font("DejaVuSans", REGULAR)?;
    let bold = document.add_font("DejaVuSans-Bold", BOLD)?;
    let mut layout = Layout { document, regular, bold, y: 0.0, heading_page: None, orphaned_headings: 0 };
    layout.start_page();

    layout.paragraph(bold, 14.0, TITLE, 0.0, 4.0);
    layout.gap(6.0);
    let person = input.applications.person.as_ref().or(input.queue.person.as_ref());
    let name = person.map(|p| format!("{} {}", p.first_name, p.surname)).unwrap_or_else(|| "—".to_string());
    let code = person.map(|p| p.person_code.to_string()).unwrap_or_else(|| input.person_code.to_string());
    layout.labelled("Vārds, uzvārds:", &name, 110.0);
    layout.labelled("Personas kods:", &code, 110.0);
    if let Some(as_of) = input.as_of {
        layout.labelled("Stāvoklis uz:", &day(as_of), 110.0);
    }
    if let Some(register_as_of) = input.applications.register_as_of.or(input.queue.register_as_of) {
        layout.paragraph(layout.regular, BODY_SIZE, &data_as_of(register_as_of), 0.0, 3.0);
    }
    if person.is_none() {
        layout.paragraph(layout.regular, BODY_SIZE, "Informācijas sistēmā SPOLIS par šo personas kodu ierakstu nav.", 0.0, 3.0);
    }

    layout.heading("Iesniegumi sociālo pakalpojumu saņemšanai", APPLICATION_START);
    if input.applications.applications.is_empty() {
        layout.paragraph(layout.regular, BODY_SIZE, "Iesniegumu nav.", 0.0, 3.0);
    }
    for application in &input.applications.applications {
        layout.application(application);
    }

    layout.heading("Rindas statuss sociālo pakalpojumu saņemšanai", SERVICE_KIND_START + 4.0);
    if input.queue.events.is_empty() {
        layout.paragraph(layout.regular, BODY_SIZE, "Rindas notikumu nav.", 0.0, 3.0);
    }
    // One block per service kind, as in the sample ("Pakalpojuma veids: …").
    let mut kinds: Vec<&str> = Vec::new();
    for event in &input.queue.events {
        if !kinds.contains(&event.service_kind.name.as_str()) {
            kinds.push(&event.service_kind.name);
        }
    }
    for kind in kinds {
        let events: Vec<&QueueEvent> = input.queue.events.iter().filter(|e| e.service_kind.name == kind).collect();
        layout.gap(4.0);
        // Keep the service kind with the start of its table.
        layout.ensure(SERVICE_KIND_START);
        layout.labelled("Pakalpojuma veids:", kind, 110.0);
        layout.gap(3.0);
        let rows = events
            .iter()
            .map(|e| {
                vec![
                    e.problem_nature.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
                    e.preferred_provider.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                    event_status(e.kind),
                    day(e.event_date),
                    e.decision_number.clone().unwrap_or_default(),
                ]
            })
            .collect();
        layout.table(&["Problēmas būtība", "Vēlamais VSAC", "Notikuma statuss", "Notikuma datums", "Lēmuma Nr."], &[0.23, 0.23, 0.27, 0.12, 0.15], rows);
        layout.gap(6.0);
        let rows = events
            .iter()
            .map(|e| {
                vec![
                    e.preferred_provider.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                    e.offered_place.as_ref().map(|p| format!("{}, {}", p.provider.name, p.address)).unwrap_or_default(),
                    event_status(e.kind),
                    day(e.event_date),
                    e.granted_on.map(day).unwrap_or_default(),
                ]
            })
            .collect();
        layout.table(
            &["Vēlamais SAC", "Piedāvātā vieta un adrese", "Notikuma statuss", "Notikuma datums", "Piešķiršanas datums"],
            &[0.19, 0.28, 0.26, 0.12, 0.15],
            rows,
        );
    }

    if !input.queue.positions.is_empty() {
        layout.heading("Rindas virzība", TABLE_START);
        let rows = input.queue.positions.iter().map(position_row).collect();
        layout.table(
            &["Pakalpojuma veids", "Pakalpojuma sniedzējs", "Rindā no", "Personu rindā priekšā", "Rindas garums", "Paredzamā gaidīšana"],
            &[0.24, 0.22, 0.11, 0.12, 0.11, 0.20],
            rows,
        );
        let bases: Vec<(&str, &str)> = wait_bases(input.queue).collect();
        if !bases.is_empty() {
            layout.gap(4.0);
            for (provider, basis) in bases {
                layout.paragraph(layout.regular, TABLE_SIZE, &format!("Paredzamā gaidīšana, {provider}: {basis}"), 0.0, 2.0);
            }
        }
    }

    layout.gap(12.0);
    layout.paragraph(
        layout.regular,
        BODY_SIZE,
        "Izdruka sagatavota pašvaldības sistēmā atbilstoši informācijas sistēmā SPOLIS reģistrētajiem datiem.",
        0.0,
        3.0,
    );
    Ok(layout)
}

/// The room the start of what follows a heading needs, so that a heading is never left alone
/// at the foot of a page: an application's first lines, a service kind with the start of its
/// table, a table's header and first rows.
const APPLICATION_START: f32 = 70.0;
const SERVICE_KIND_START: f32 = 130.0;
const TABLE_START: f32 = 100.0;
/// A heading's own height: the gap above, the line, the rule and the gap below.
const HEADING_HEIGHT: f32 = 35.0;

/// The writing position on the current page; starts new pages as the text needs them.
struct Layout {
    document: Document,
    regular: FontId,
    bold: FontId,
    /// Baseline of the next line, from the bottom.
    y: f32,
    /// The page of the last heading, until the first content after it is placed.
    heading_page: Option<usize>,
    /// Headings whose first content landed on a later page (checked by the tests: always 0).
    orphaned_headings: usize,
}

impl Layout {
    fn start_page(&mut self) {
        self.document.new_page();
        self.y = PAGE_HEIGHT - MARGIN;
    }

    fn width(&self) -> f32 {
        PAGE_WIDTH - 2.0 * MARGIN
    }

    /// Makes room for `height` points, starting a new page if needed.
    fn ensure(&mut self, height: f32) {
        if self.y - height < FOOTER_SPACE + 10.0 {
            self.start_page();
        }
    }

    /// Notes that content is placed now: a heading waiting for its content is orphaned when
    /// the content starts a page after it.
    fn content(&mut self) {
        if let Some(page) = self.heading_page.take() {
            if page != self.document.page_count() {
                self.orphaned_headings += 1;
            }
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn paragraph(&mut self, font: FontId, size: f32, text: &str, indent: f32, after: f32) {
        let leading = size * 1.3;
        for line in self.document.wrap(font, size, text, self.width() - indent) {
            self.ensure(leading);
            self.content();
            self.y -= size;
            let y = self.y;
            self.document.page().text(font, size, MARGIN + indent, y, &line);
            self.y -= leading - size;
        }
        self.y -= after;
    }

    /// A section heading, on a new page unless `keep` points of what follows fit below it.
    fn heading(&mut self, text: &str, keep: f32) {
        self.gap(10.0);
        self.ensure(HEADING_HEIGHT + keep);
        self.paragraph(self.bold, 11.5, text, 0.0, 2.0);
        let y = self.y;
        self.document.page().line(MARGIN, y, PAGE_WIDTH - MARGIN, y, 0.6, 0.3);
        self.gap(6.0);
        self.heading_page = Some(self.document.page_count());
    }

    /// "Label: value", the value wrapped beside the label.
    fn labelled(&mut self, label: &str, value: &str, label_width: f32) {
        self.labelled_at(label, value, 0.0, label_width);
    }

    fn labelled_at(&mut self, label: &str, value: &str, indent: f32, label_width: f32) {
        let size = BODY_SIZE;
        let leading = size * 1.35;
        let lines = self.document.wrap(self.regular, size, value, self.width() - indent - label_width);
        for (index, line) in lines.iter().enumerate() {
            self.ensure(leading);
            self.content();
            self.y -= size;
            let y = self.y;
            let (bold, regular) = (self.bold, self.regular);
            let mut page = self.document.page();
            if index == 0 {
                page.text(bold, size, MARGIN + indent, y, label);
            }
            page.text(regular, size, MARGIN + indent + label_width, y, line);
            self.y -= leading - size;
        }
    }

    fn application(&mut self, a: &Application) {
        self.ensure(APPLICATION_START);
        self.gap(4.0);
        let indent = 0.0;
        let w = 165.0;
        self.labelled_at("Iesnieguma datums:", &day(a.submitted_on), indent, w);
        self.labelled_at("Iesnieguma veids:", &a.application_kind, indent, w);
        self.labelled_at("Iesnieguma statuss:", a.status.label(), indent, w);
        let indent = 12.0;
        let w = 153.0;
        self.labelled_at("Iesnieguma Nr.:", &a.application_number, indent, w);
        self.labelled_at("Pakalpojuma veids:", &a.service_kind.name, indent, w);
        if let Some(nature) = &a.problem_nature {
            self.labelled_at("Problēmas būtība:", &nature.name, indent, w);
        }
        if let Some(p) = &a.preferred_provider {
            self.labelled_at("Vēlamais sniedzējs:", &p.name, indent, w);
        }
        if let Some(r) = &a.legal_representative {
            self.labelled_at("Likumiskais pārstāvis:", &representative_line(r), indent, w);
        }
        let m = &a.municipality;
        let mut municipality = format!("{}, {}", m.name, m.address);
        for part in [m.contacts.phone.clone(), m.contacts.email.clone()].into_iter().flatten() {
            municipality.push_str(", ");
            municipality.push_str(&part);
        }
        self.labelled_at("Pašvaldība:", &municipality, indent, w);
        if !a.submitted_documents.is_empty() {
            let text = a.submitted_documents.iter().map(|d| format!("{} ({})", d.title, day(d.submitted_on))).collect::<Vec<_>>().join("; ");
            self.labelled_at("Iesniegtie dokumenti:", &text, indent, w);
        }
        for r in &a.document_requests {
            let mut text = format!("{}: {}", day(r.requested_on), r.description);
            if let Some(due) = r.due_on {
                text.push_str(&format!(", termiņš {}", day(due)));
            }
            if let Some(done) = r.fulfilled_on {
                text.push_str(&format!(", iesniegti {}", day(done)));
            }
            self.labelled_at("Dokumentu pieprasījums:", &text, indent, w);
        }
        for d in &a.queue_decisions {
            let text = format!("{}, Nr. {}, {}, rindā no {}", day(d.decided_on), d.document_number, d.provider.name, day(d.queued_from));
            self.labelled_at("Uzņemts rindā:", &text, indent, w);
        }
        for d in &a.grant_decisions {
            let text = format!("{}, Nr. {}, {}, piešķirts no {}", day(d.decided_on), d.document_number, d.provider.name, day(d.granted_from));
            self.labelled_at("Pakalpojums piešķirts:", &text, indent, w);
        }
        for d in &a.refusal_decisions {
            let text = format!("{}, Nr. {}, iemesls: {}", day(d.decided_on), d.document_number, d.reason);
            self.labelled_at("Pakalpojums atteikts:", &text, indent, w);
        }
        self.gap(5.0);
    }

    /// A bordered table with a shaded header row (repeated on a new page); `fractions` are the
    /// columns' shares of the width.
    fn table(&mut self, headers: &[&str], fractions: &[f32], rows: Vec<Vec<String>>) {
        let total = self.width();
        let widths: Vec<f32> = fractions.iter().map(|f| f * total).collect();
        let pad = 3.0;
        let size = TABLE_SIZE;
        let leading = size * 1.25;
        // The header and a few rows at least, or the table starts on the next page.
        self.ensure(TABLE_START);
        self.table_row(headers.iter().map(|h| h.to_string()).collect(), &widths, self.bold, true, pad, size, leading);
        for row in rows {
            let height = self.row_height(&row, &widths, self.regular, pad, size, leading);
            if self.y - height < FOOTER_SPACE + 10.0 {
                self.start_page();
                self.table_row(headers.iter().map(|h| h.to_string()).collect(), &widths, self.bold, true, pad, size, leading);
            }
            self.table_row(row, &widths, self.regular, false, pad, size, leading);
        }
    }

    fn row_height(&self, cells: &[String], widths: &[f32], font: FontId, pad: f32, size: f32, leading: f32) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| self.document.wrap(font, size, cell, width - 2.0 * pad).len())
            .max()
            .unwrap_or(1)
            .max(1);
        lines as f32 * leading + 2.0 * pad
    }

    #[allow(clippy::too_many_arguments)]
    fn table_row(&mut self, cells: Vec<String>, widths: &[f32], font: FontId, header: bool, pad: f32, size: f32, leading: f32) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| self.document.wrap(font, size, cell, width - 2.0 * pad))
            .collect();
        let height = self.row_height(&cells, widths, font, pad, size, leading);
        self.content();
        let top = self.y;
        let bottom = top - height;
        let mut page = self.document.page();
        if header {
            page.fill(MARGIN, bottom, widths.iter().sum(), height, 0.88);
        }
        let mut x = MARGIN;
        for (lines, width) in wrapped.iter().zip(widths) {
            let mut baseline = top - pad - size * 0.9;
            for line in lines {
                page.text(font, size, x + pad, baseline, line);
                baseline -= leading;
            }
            x += width;
        }
        let right = MARGIN + widths.iter().sum::<f32>();
        page.line(MARGIN, top, right, top, 0.4, 0.45);
        page.line(MARGIN, bottom, right, bottom, 0.4, 0.45);
        let mut x = MARGIN;
        page.line(x, top, x, bottom, 0.4, 0.45);
        for width in widths {
            x += width;
            page.line(x, top, x, bottom, 0.4, 0.45);
        }
        self.y = bottom;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATVIAN_LETTERS: &str = "ĀāČčĒēĢģĪīĶķĻļŅņŠšŪūŽž";

    #[test]
    fn both_fonts_have_every_latvian_letter() {
        for data in [REGULAR, BOLD] {
            let face = ttf_parser::Face::parse(data, 0).expect("font");
            for letter in LATVIAN_LETTERS.chars() {
                assert!(face.glyph_index(letter).is_some(), "{letter}");
            }
        }
    }

    fn day(text: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// A person with `applications` applications and `events` queue events, one queue.
    fn answers(applications: usize, events: usize) -> (ApplicationList, QueueStatusList) {
        use crate::model::*;
        let person = Person { person_code: crate::personal_code::PersonalCode::parse("150342-10121").expect("code"), first_name: "Ērika".into(), surname: "Kalniņa".into() };
        let provider = Provider { code: "VSAC-RIG-EZE".into(), name: "VSAC \"Rīga\" filiāle \"Ezerkrasti\"".into() };
        let kind = Classifier { code: "ISAR".into(), name: "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija".into() };
        let nature = Classifier { code: "REDZES-INVALIDITATE".into(), name: "Persona ar I vai II grupas redzes invaliditāti".into() };
        let application = Application {
            application_number: "SPOLIS-IES-2024-000001".into(),
            submitted_on: day("2024-09-16"),
            application_kind: "Sociālās aprūpes un rehabilitācijas pakalpojums".into(),
            status: ApplicationStatus::InQueue,
            service_kind: kind.clone(),
            problem_nature: Some(nature.clone()),
            preferred_provider: Some(provider.clone()),
            applicant: person.clone(),
            legal_representative: None,
            municipality: Municipality { code: "RIGA".into(), name: "Rīgas valstspilsēta".into(), address: "Baznīcas iela 19/23, Rīga".into(), contacts: Contacts::default() },
            submitted_documents: vec![SubmittedDocument { title: "Iesniegums".into(), submitted_on: day("2024-09-16") }],
            document_requests: Vec::new(),
            grant_decisions: Vec::new(),
            queue_decisions: Vec::new(),
            refusal_decisions: Vec::new(),
        };
        let event = QueueEvent {
            kind: QueueEventKind::AdmittedToQueue,
            event_date: day("2024-10-28"),
            decision_number: Some("LM-2024/1-R".into()),
            service_kind: kind.clone(),
            problem_nature: Some(nature),
            preferred_provider: Some(provider.clone()),
            offered_place: None,
            granted_on: None,
            application_number: Some("SPOLIS-IES-2024-000001".into()),
        };
        let position = QueuePosition { service_kind: kind, provider, queued_since: day("2024-10-28"), places_ahead: 3, queue_length: 9, estimated_wait: None };
        (
            ApplicationList { register_as_of: None, person: Some(person.clone()), applications: vec![application; applications] },
            QueueStatusList { register_as_of: None, person: Some(person), events: vec![event; events], positions: vec![position; 2] },
        )
    }

    #[test]
    fn no_heading_is_left_alone_at_the_foot_of_a_page() {
        let printed_at = day("2026-01-02").and_hms_opt(3, 4, 5).expect("time");
        let mut pages_seen = std::collections::BTreeSet::new();
        // Every number of applications and events moves the headings down the page by a
        // different amount, so each heading lands at every height at least once.
        for applications in 0..12 {
            for events in [0, 1, 7, 20, 33] {
                let (list, queue) = answers(applications, events);
                let input = PrintoutInput { person_code: "150342-10121", applications: &list, queue: &queue, operator_name: "Anna Liepiņa", as_of: None, printed_at };
                let layout = lay_out(&input).expect("layout");
                pages_seen.insert(layout.document.page_count());
                assert_eq!(layout.orphaned_headings, 0, "{applications} applications, {events} events");
            }
        }
        assert!(pages_seen.len() >= 3, "the cases span several page counts: {pages_seen:?}");
    }

    #[test]
    fn the_event_status_is_the_status_word_with_the_label_where_it_adds_to_it() {
        assert_eq!(event_status(QueueEventKind::AdmittedToQueue), "Uzņemts rindā");
        assert_eq!(event_status(QueueEventKind::PlaceOffered), "Piedāvāta brīvā vieta");
        assert_eq!(event_status(QueueEventKind::Refused), "Pakalpojums atteikts");
        assert_eq!(event_status(QueueEventKind::RestoredToQueue), "Uzņemts rindā (lēmums par personas atjaunošanu rindā)");
        assert_eq!(
            event_status(QueueEventKind::HalfwayHouseGranted),
            "Pakalpojums piešķirts (lēmumi par pusceļa mājas piešķiršanu)"
        );
        assert_eq!(event_status(QueueEventKind::DocumentRenewalRequested), "Pieprasījums dokumentu atjaunošanai");
    }

    #[test]
    fn an_empty_printout_is_one_page_naming_the_code() {
        let empty_applications = ApplicationList { register_as_of: None, person: None, applications: Vec::new() };
        let empty_queue = QueueStatusList { register_as_of: None, person: None, events: Vec::new(), positions: Vec::new() };
        let printed_at = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).and_then(|d| d.and_hms_opt(3, 4, 5)).expect("time");
        let pdf = render(&PrintoutInput {
            person_code: "051230-10106",
            applications: &empty_applications,
            queue: &empty_queue,
            operator_name: LATVIAN_LETTERS,
            as_of: None,
            printed_at,
        })
        .expect("PDF");
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("/Type /Page\n").count(), 1, "one page");
        assert!(text.contains("/Count 1\n"), "one page");
        // Both fonts embedded as subsets (tag+name), Identity-H encoded.
        assert_eq!(text.matches("/Encoding /Identity-H").count(), 2);
        assert!(text.contains("+DejaVuSans\n") && text.contains("+DejaVuSans-Bold\n"));
        assert!(text.contains("/FontFile2 "));
    }
}
