//! GetQueueStatistics: the queues' monthly statistics, with no personal data
//! (`GetQueueStatistics` → `GetQueueStatisticsResponse`).

use chrono::NaiveDate;

use crate::contract::SPOLIS_NS;
use crate::error::{ErrorCode, ServiceError};
use crate::model::{Month, QueueStatistics, QueueStatisticsQuery, Statistic};
use crate::xml::{Element, XmlWriter};

use super::render::{classifier, provider};
use super::{leaf_text, operator, purpose, wrong_format, Children, Operator, PayloadError, Purpose};

/// The longest period that may be asked for, in months.
pub const MAX_MONTHS: u16 = 36;

/// The months a request names, before the day of the call fixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatisticsPeriod {
    /// The last n months, the month of the call the last.
    MonthsBack(u16),
    /// From one month to another, both included.
    Months { from: Month, till: Month },
}

/// The request, parsed and checked.
#[derive(Debug, Clone)]
pub struct GetQueueStatistics {
    pub period: StatisticsPeriod,
    pub service_kind_code: Option<String>,
    pub provider_code: Option<String>,
    pub municipality_code: Option<String>,
    pub by_municipality: bool,
    pub purpose: Purpose,
    pub operator: Operator,
}

impl GetQueueStatistics {
    /// Reads `GetQueueStatistics`: `Period` (`MonthsBack` | `FromMonth`, `TillMonth`),
    /// `ServiceKindCode`?, `ProviderCode`?, `MunicipalityCode`?, `ByMunicipality`?, `Purpose`,
    /// `Operator`.
    pub fn parse(payload: &Element) -> Result<Self, PayloadError> {
        const PATH: &str = "GetQueueStatistics";
        let mut children = Children::of(payload, PATH)?;
        let period = period(children.required("Period")?)?;
        let code = |children: &mut Children<'_>, name: &str| {
            children.optional(name)?.map(|e| leaf_text(e, &format!("{PATH}/{name}"), 20).map(str::to_string)).transpose()
        };
        let service_kind_code = code(&mut children, "ServiceKindCode")?;
        let provider_code = code(&mut children, "ProviderCode")?;
        let municipality_code = code(&mut children, "MunicipalityCode")?;
        let by_municipality = match children.optional("ByMunicipality")? {
            None => false,
            Some(e) => match leaf_text(e, "GetQueueStatistics/ByMunicipality", 5)? {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(wrong_format("GetQueueStatistics/ByMunicipality", "is not a boolean")),
            },
        };
        let purpose = purpose(&mut children, PATH)?;
        let operator = operator(&mut children, PATH)?;
        children.end()?;
        Ok(GetQueueStatistics { period, service_kind_code, provider_code, municipality_code, by_municipality, purpose, operator })
    }

    /// The store's query for a call made on `today`: the months fixed and checked.
    pub fn query(&self, today: NaiveDate) -> Result<QueueStatisticsQuery, ServiceError> {
        let current = Month::of(today);
        let out_of_range = |detail: String| ServiceError::with_detail(ErrorCode::PeriodOutOfRange, detail);
        let (from, till) = match self.period {
            StatisticsPeriod::MonthsBack(n) if (1..=MAX_MONTHS).contains(&n) => (current.plus(1 - i32::from(n)), current),
            StatisticsPeriod::MonthsBack(n) => return Err(out_of_range(format!("Period/MonthsBack is {n}; it must be 1 to {MAX_MONTHS}."))),
            StatisticsPeriod::Months { from, till } => {
                if from > till {
                    return Err(ServiceError::with_detail(ErrorCode::InvalidPeriod, "Period/FromMonth is after Period/TillMonth."));
                }
                if till.0 - from.0 >= i32::from(MAX_MONTHS) {
                    return Err(out_of_range(format!("The period {from} to {till} is longer than {MAX_MONTHS} months.")));
                }
                if till > current {
                    return Err(out_of_range(format!("Period/TillMonth {till} is after the month of the call, {current}.")));
                }
                (from, till)
            }
        };
        Ok(QueueStatisticsQuery {
            from,
            till,
            service_kind_code: self.service_kind_code.clone(),
            provider_code: self.provider_code.clone(),
            municipality_code: self.municipality_code.clone(),
            by_municipality: self.by_municipality,
        })
    }
}

fn period(element: &Element) -> Result<StatisticsPeriod, PayloadError> {
    const PATH: &str = "GetQueueStatistics/Period";
    let mut children = Children::of(element, PATH)?;
    if let Some(back) = children.optional("MonthsBack")? {
        let text = leaf_text(back, "GetQueueStatistics/Period/MonthsBack", 5)?;
        let months = text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<u16>().ok())
            .flatten()
            .ok_or_else(|| wrong_format("GetQueueStatistics/Period/MonthsBack", "is not a number of months"))?;
        children.end()?;
        return Ok(StatisticsPeriod::MonthsBack(months));
    }
    let month = |children: &mut Children<'_>, name: &str| -> Result<Month, PayloadError> {
        let path = format!("{PATH}/{name}");
        let element = children.required(name)?;
        year_month(leaf_text(element, &path, 16)?).ok_or_else(|| wrong_format(&path, "is not a month (YYYY-MM)"))
    };
    let from = month(&mut children, "FromMonth")?;
    let till = month(&mut children, "TillMonth")?;
    children.end()?;
    Ok(StatisticsPeriod::Months { from, till })
}

/// An `xs:gYearMonth`: `YYYY-MM` with an optional time zone, which a month ignores.
fn year_month(text: &str) -> Option<Month> {
    let (month, zone) = match text.char_indices().nth(7) {
        Some((boundary, _)) => text.split_at(boundary),
        None => (text, ""),
    };
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) && zone.as_bytes()[3] == b':');
    zone_ok.then(|| Month::parse(month)).flatten()
}

/// Writes `GetQueueStatisticsResponse` (namespace declared on it).
pub(crate) fn render(answer: &QueueStatistics) -> String {
    let months: usize = answer.queues.iter().map(|q| q.months.len()).sum();
    let mut w = XmlWriter::with_capacity(512 + answer.queues.len() * 300 + months * 450);
    w.open_with("GetQueueStatisticsResponse", &[("xmlns", SPOLIS_NS)])
        .leaf("FromMonth", &answer.from.to_string())
        .leaf("TillMonth", &answer.till.to_string())
        .number("MinimumCount", answer.minimum_count)
        .open("Queues");
    for queue in &answer.queues {
        w.open("Queue");
        classifier(&mut w, "ServiceKind", &queue.service_kind);
        provider(&mut w, "Provider", &queue.provider);
        if let Some(municipality) = &queue.municipality {
            classifier(&mut w, "Municipality", municipality);
        }
        for month in &queue.months {
            w.open("Month").leaf("Month", &month.month.to_string());
            for measure in crate::model::Measure::ALL {
                statistic(&mut w, measure.element(), month.counts[measure as usize]);
            }
            if let Some(median) = month.median_wait_days {
                statistic(&mut w, "MedianWaitDays", median);
            }
            if let Some(percentile) = month.percentile90_wait_days {
                statistic(&mut w, "Percentile90WaitDays", percentile);
            }
            w.close("Month");
        }
        w.close("Queue");
    }
    w.close("Queues").close("GetQueueStatisticsResponse");
    w.finish()
}

/// `StatisticValueStructure`: `Value`, or `Suppressed` (always `true`).
fn statistic(w: &mut XmlWriter, tag: &str, value: Statistic) {
    w.open(tag);
    match value {
        Statistic::Value(number) => w.number("Value", number),
        Statistic::Suppressed => w.leaf("Suppressed", "true"),
    };
    w.close(tag);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    fn request(period: &str) -> Result<GetQueueStatistics, PayloadError> {
        let text = format!(
            r#"<GetQueueStatistics xmlns="{SPOLIS_NS}"><Period>{period}</Period><Purpose><LegalBasis>x</LegalBasis></Purpose><Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname><PersonCode>120379-10015</PersonCode></Operator></GetQueueStatistics>"#
        );
        GetQueueStatistics::parse(&parse(text.as_bytes(), &XmlLimits::default()).unwrap())
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn months_back_end_with_the_month_of_the_call() {
        let query = request("<MonthsBack>12</MonthsBack>").unwrap().query(day("2026-03-15")).unwrap();
        assert_eq!((query.from.to_string(), query.till.to_string()), ("2025-04".into(), "2026-03".into()));
        let query = request("<MonthsBack>1</MonthsBack>").unwrap().query(day("2026-03-01")).unwrap();
        assert_eq!(query.from, query.till);
    }

    #[test]
    fn periods_out_of_bounds_are_refused_with_their_codes() {
        let today = day("2026-03-15");
        for (period, code) in [
            ("<MonthsBack>0</MonthsBack>", ErrorCode::PeriodOutOfRange),
            ("<MonthsBack>37</MonthsBack>", ErrorCode::PeriodOutOfRange),
            ("<FromMonth>2023-03</FromMonth><TillMonth>2026-03</TillMonth>", ErrorCode::PeriodOutOfRange),
            ("<FromMonth>2026-01</FromMonth><TillMonth>2026-04</TillMonth>", ErrorCode::PeriodOutOfRange),
            ("<FromMonth>2026-02</FromMonth><TillMonth>2026-01</TillMonth>", ErrorCode::InvalidPeriod),
        ] {
            assert_eq!(request(period).unwrap().query(today).unwrap_err().code, code, "{period}");
        }
        let longest = request("<FromMonth>2023-04</FromMonth><TillMonth>2026-03</TillMonth>").unwrap().query(today).unwrap();
        assert_eq!(longest.till.0 - longest.from.0 + 1, 36);
    }

    #[test]
    fn malformed_periods_are_wrong_format() {
        for period in ["", "<MonthsBack>-1</MonthsBack>", "<MonthsBack>x</MonthsBack>", "<FromMonth>2026-1</FromMonth><TillMonth>2026-02</TillMonth>",
            "<FromMonth>2026-01</FromMonth>", "<TillMonth>2026-01</TillMonth><FromMonth>2026-01</FromMonth>", "<MonthsBack>3</MonthsBack><FromMonth>2026-01</FromMonth>"]
        {
            assert_eq!(request(period).unwrap_err().code(), ErrorCode::BodyWrongFormat, "{period}");
        }
        assert!(request("<FromMonth>2026-01Z</FromMonth><TillMonth>2026-02+02:00</TillMonth>").is_ok());
    }
}
