//! GetQueueStatistics on the calling side: the answer read back into the model, and written
//! as a table for a terminal, CSV for a spreadsheet, or an SVG line chart of the persons
//! waiting at each month's end, per queue, for a ministry's report.
//!
//! Withheld numbers are never guessed: the table and CSV say "neizp." (neizpaužams), and the
//! chart leaves a gap in the line.

use std::fmt::Write;

use anyhow::{anyhow, Context};

use crate::model::{Classifier, Measure, Month, MonthStatistics, Provider, QueueStatistics, QueueStatisticsRow, Statistic};
use crate::xml::Element;

/// How a withheld number is shown.
pub const WITHHELD: &str = "neizp.";

/// Reads `GetQueueStatisticsResponse`.
pub fn read(element: &Element) -> anyhow::Result<QueueStatistics> {
    let month = |e: &Element, name: &str| -> anyhow::Result<Month> {
        let text = text(e, name)?;
        Month::parse(&text).ok_or_else(|| anyhow!("{name} {text:?} is not a month"))
    };
    let queues = children(required(element, "Queues")?, "Queue")
        .map(|queue| {
            let classifier = |e: &Element| -> anyhow::Result<Classifier> { Ok(Classifier { code: text(e, "Code")?, name: text(e, "Name")? }) };
            let provider = required(queue, "Provider")?;
            let months = children(queue, "Month")
                .map(|m| {
                    let mut counts = [Statistic::Value(0); 7];
                    for measure in Measure::ALL {
                        counts[measure as usize] = statistic(required(m, measure.element())?)?;
                    }
                    Ok(MonthStatistics {
                        month: month(m, "Month")?,
                        counts,
                        median_wait_days: child(m, "MedianWaitDays").map(statistic).transpose()?,
                        percentile90_wait_days: child(m, "Percentile90WaitDays").map(statistic).transpose()?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(QueueStatisticsRow {
                service_kind: classifier(required(queue, "ServiceKind")?)?,
                provider: Provider { code: text(provider, "Code")?, name: text(provider, "Name")? },
                municipality: child(queue, "Municipality").map(classifier).transpose()?,
                months,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let minimum = text(element, "MinimumCount")?;
    Ok(QueueStatistics {
        from: month(element, "FromMonth")?,
        till: month(element, "TillMonth")?,
        minimum_count: minimum.parse().with_context(|| format!("MinimumCount {minimum:?}"))?,
        queues,
    })
}

fn statistic(element: &Element) -> anyhow::Result<Statistic> {
    if child(element, "Suppressed").is_some() {
        return Ok(Statistic::Suppressed);
    }
    let value = text(element, "Value")?;
    Ok(Statistic::Value(value.parse().with_context(|| format!("{} {value:?} is not a number", element.name))?))
}

fn child<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|c| c.name == name)
}

fn children<'a>(element: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> {
    element.children.iter().filter(move |c| c.name == name)
}

fn required<'a>(element: &'a Element, name: &str) -> anyhow::Result<&'a Element> {
    child(element, name).ok_or_else(|| anyhow!("{} has no {name}", element.name))
}

fn text(element: &Element, name: &str) -> anyhow::Result<String> {
    Ok(required(element, name)?.text.trim().to_string())
}

fn shown(value: Option<Statistic>) -> String {
    match value {
        Some(Statistic::Value(v)) => v.to_string(),
        Some(Statistic::Suppressed) => WITHHELD.to_string(),
        None => "–".to_string(),
    }
}

/// The row's title: "service kind — provider (municipality)".
fn title(row: &QueueStatisticsRow) -> String {
    let municipality = row.municipality.as_ref().map(|m| format!(" ({})", m.name)).unwrap_or_default();
    format!("{} — {}{municipality}", row.service_kind.name, row.provider.name)
}

/// The columns after the month: the seven counts, then the two waits.
fn headings() -> Vec<&'static str> {
    let mut headings: Vec<&str> = Measure::ALL.iter().map(|m| m.label_lv()).collect();
    headings.extend(["Gaidīšanas mediāna, d", "90. procentile, d"]);
    headings
}

fn cells(month: &MonthStatistics) -> Vec<String> {
    let mut cells: Vec<String> = month.counts.iter().map(|c| shown(Some(*c))).collect();
    cells.push(shown(month.median_wait_days));
    cells.push(shown(month.percentile90_wait_days));
    cells
}

/// The terminal table: per queue, months down, the counts across.
pub fn table(answer: &QueueStatistics) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rindu statistika {} – {}: {} rindas; skaitļi, kas raksturo 1–{} personas, netiek izpausti ({WITHHELD})",
        answer.from,
        answer.till,
        answer.queues.len(),
        answer.minimum_count.saturating_sub(1)
    );
    let headings = headings();
    for row in &answer.queues {
        let _ = writeln!(out, "\n{} [{} / {}{}]", title(row), row.service_kind.code, row.provider.code, row.municipality.as_ref().map(|m| format!(" / {}", m.code)).unwrap_or_default());
        let body: Vec<Vec<String>> = row.months.iter().map(cells).collect();
        let widths: Vec<usize> = headings
            .iter()
            .enumerate()
            .map(|(i, h)| body.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(h.chars().count()))
            .collect();
        let _ = write!(out, "{:<7}", "Mēnesis");
        for (h, w) in headings.iter().zip(&widths) {
            let _ = write!(out, "  {h:>w$}");
        }
        out.push('\n');
        for (month, r) in row.months.iter().zip(&body) {
            let _ = write!(out, "{:<7}", month.month.to_string());
            for (cell, w) in r.iter().zip(&widths) {
                let _ = write!(out, "  {cell:>w$}");
            }
            out.push('\n');
        }
    }
    if answer.queues.is_empty() {
        out.push_str("Periodā nav rindu ar gaidītājiem vai kustību.\n");
    }
    out
}

/// CSV for spreadsheets: `;`-separated (the list separator of Latvian locales), UTF-8 with a
/// byte-order mark so that spreadsheet programs read the diacritics, one line per queue and
/// month, withheld numbers as "neizp.".
pub fn csv(answer: &QueueStatistics) -> String {
    let quote = |field: &str| {
        if field.contains([';', '"', '\n']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_string()
        }
    };
    let mut out = String::from("\u{feff}");
    let mut header = vec!["Mēnesis", "Pakalpojuma veida kods", "Pakalpojuma veids", "Sniedzēja kods", "Pakalpojuma sniedzējs", "Pašvaldības kods", "Pašvaldība"];
    header.extend(headings());
    out.push_str(&header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(";"));
    out.push_str("\r\n");
    for row in &answer.queues {
        for month in &row.months {
            let mut fields = vec![
                month.month.to_string(),
                row.service_kind.code.clone(),
                row.service_kind.name.clone(),
                row.provider.code.clone(),
                row.provider.name.clone(),
                row.municipality.as_ref().map(|m| m.code.clone()).unwrap_or_default(),
                row.municipality.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            ];
            fields.extend(cells(month));
            out.push_str(&fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(";"));
            out.push_str("\r\n");
        }
    }
    out
}

/// Latvian month abbreviations for the chart's axis.
const MONTHS_LV: [&str; 12] = ["janv.", "febr.", "marts", "apr.", "maijs", "jūn.", "jūl.", "aug.", "sept.", "okt.", "nov.", "dec."];

/// Colours that stay apart in print and for colour-blind readers (Okabe–Ito), then greys.
const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];

/// The lines drawn at most: a chart with more is unreadable; the rest are named below it.
const MAX_LINES: usize = 8;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An SVG line chart of the persons waiting at each month's end, one line per queue (the
/// queues with the most waiting first), with axes, gridlines, Latvian labels and a legend.
/// A withheld month is a gap in its line, never a guess.
pub fn svg(answer: &QueueStatistics) -> String {
    const WIDTH: f64 = 900.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 30.0;
    const TOP: f64 = 60.0;
    const PLOT_HEIGHT: f64 = 340.0;
    let waiting = |m: &MonthStatistics| match m.counts[Measure::Waiting as usize] {
        Statistic::Value(v) => Some(v),
        Statistic::Suppressed => None,
    };
    let mut rows: Vec<&QueueStatisticsRow> = answer.queues.iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.months.iter().filter_map(waiting).max().unwrap_or(0)));
    let (drawn, left_out) = rows.split_at(rows.len().min(MAX_LINES));
    let months: Vec<Month> = (0..=(answer.till.0 - answer.from.0)).map(|i| answer.from.plus(i)).collect();
    let highest = drawn.iter().flat_map(|row| row.months.iter().filter_map(waiting)).max().unwrap_or(0);
    let (step, top_value) = nice_scale(highest);
    let legend_height = 22.0 * drawn.len() as f64 + if left_out.is_empty() { 0.0 } else { 22.0 };
    let height = TOP + PLOT_HEIGHT + 70.0 + legend_height + 20.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let x = |i: usize| LEFT + if months.len() > 1 { plot_width * i as f64 / (months.len() - 1) as f64 } else { plot_width / 2.0 };
    let y = |v: f64| TOP + PLOT_HEIGHT - PLOT_HEIGHT * v / top_value as f64;

    let mut out = String::new();
    let _ = writeln!(out, r##"<?xml version="1.0" encoding="UTF-8"?>"##);
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Arial, Helvetica, sans-serif" font-size="12" lang="lv">"##
    );
    let _ = writeln!(out, r##"<title>Personas rindā mēneša beigās, {} – {}</title>"##, answer.from, answer.till);
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(out, r##"<text x="{LEFT}" y="26" font-size="16" font-weight="bold">Personas rindā mēneša beigās</text>"##);
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="44" fill="#444444">Ilgstošas sociālās aprūpes un sociālās rehabilitācijas pakalpojumi, {} – {}; avots: SPOLIS</text>"##,
        answer.from, answer.till
    );
    // Gridlines and the value axis.
    let mut value = 0;
    while value <= top_value {
        let at = y(value as f64);
        let _ = writeln!(out, r##"<line x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}" stroke="#dddddd"/>"##, WIDTH - RIGHT);
        let _ = writeln!(out, r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{value}</text>"##, LEFT - 8.0, at + 4.0);
        value += step;
    }
    let _ = writeln!(
        out,
        r##"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">Personu skaits</text>"##,
        TOP + PLOT_HEIGHT / 2.0
    );
    // The time axis: every month ticked, labels thinned to fit.
    let bottom = TOP + PLOT_HEIGHT;
    let _ = writeln!(out, r##"<line x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333333"/>"##, WIDTH - RIGHT);
    let _ = writeln!(out, r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333333"/>"##);
    let every = months.len().div_ceil(12).max(1);
    for (i, month) in months.iter().enumerate() {
        let at = x(i);
        let _ = writeln!(out, r##"<line x1="{at:.1}" y1="{bottom}" x2="{at:.1}" y2="{:.1}" stroke="#333333"/>"##, bottom + 5.0);
        if i % every == 0 || i + 1 == months.len() {
            let label = MONTHS_LV[(month.number() - 1) as usize];
            let _ = writeln!(out, r##"<text x="{at:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##, bottom + 19.0);
            if i == 0 || month.number() == 1 {
                let _ = writeln!(out, r##"<text x="{at:.1}" y="{:.1}" text-anchor="middle" fill="#444444">{}</text>"##, bottom + 33.0, month.year());
            }
        }
    }
    let _ = writeln!(out, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">Mēnesis</text>"##, LEFT + plot_width / 2.0, bottom + 52.0);
    // The lines, broken where a month is withheld.
    for (n, row) in drawn.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (i, month) in months.iter().enumerate() {
            match row.months.iter().find(|m| m.month == *month).and_then(waiting) {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(i), y(f64::from(v)));
                    let _ = writeln!(out, r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"/>"##, x(i), y(f64::from(v)));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = writeln!(out, r##"<path d="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##, path.trim_end());
        }
    }
    // The legend.
    let mut at = bottom + 75.0;
    for (n, row) in drawn.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let _ = writeln!(out, r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="3"/>"##, at - 4.0, LEFT + 24.0, at - 4.0);
        let _ = writeln!(out, r##"<text x="{:.1}" y="{at:.1}">{}</text>"##, LEFT + 32.0, escape(&title(row)));
        at += 22.0;
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{at:.1}" fill="#444444">… un vēl {} rindas ar mazāk gaidītājiem (skatīt --format csv)</text>"##,
            left_out.len()
        );
    }
    if drawn.is_empty() {
        let _ = writeln!(out, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444444">Periodā nav rindu ar gaidītājiem</text>"##, LEFT + plot_width / 2.0, TOP + PLOT_HEIGHT / 2.0);
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#666666" text-anchor="end">Pārtraukums līnijā: skaitlis netiek izpausts (mazāk par {} personām)</text>"##,
        WIDTH - RIGHT,
        height - 8.0,
        answer.minimum_count
    );
    out.push_str("</svg>\n");
    out
}

/// A gridline step of 1, 2 or 5 × 10ⁿ giving about five lines, and the axis top it reaches.
fn nice_scale(highest: u32) -> (u32, u32) {
    let highest = highest.max(1);
    let rough = f64::from(highest) / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= rough).unwrap_or(magnitude * 10.0).max(1.0) as u32;
    (step, highest.div_ceil(step) * step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> QueueStatistics {
        let month = |m: &str, waiting: Statistic| MonthStatistics {
            month: Month::parse(m).unwrap(),
            counts: [waiting, Statistic::Value(0), Statistic::Suppressed, Statistic::Value(0), Statistic::Value(6), Statistic::Value(0), Statistic::Value(0)],
            median_wait_days: Some(Statistic::Value(120)),
            percentile90_wait_days: None,
        };
        QueueStatistics {
            from: Month::parse("2025-11").unwrap(),
            till: Month::parse("2026-01").unwrap(),
            minimum_count: 5,
            queues: vec![QueueStatisticsRow {
                service_kind: Classifier { code: "ISAR-P".into(), name: "Pilngadīgām; personām".into() },
                provider: Provider { code: "VSAC-A".into(), name: "VSAC \"Rīga\"".into() },
                municipality: None,
                months: vec![month("2025-11", Statistic::Value(40)), month("2025-12", Statistic::Suppressed), month("2026-01", Statistic::Value(37))],
            }],
        }
    }

    #[test]
    fn csv_has_latvian_headings_and_never_a_withheld_number() {
        let text = csv(&answer());
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("Mēnesis;Pakalpojuma veida kods;") && lines[0].contains("Gaida mēneša beigās"));
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("2025-12;ISAR-P;\"Pilngadīgām; personām\";VSAC-A;\"VSAC \"\"Rīga\"\"\";;;neizp.;0;neizp.;"), "{}", lines[2]);
    }

    #[test]
    fn the_chart_breaks_its_line_where_a_month_is_withheld() {
        let chart = svg(&answer());
        assert!(chart.starts_with("<?xml") && chart.trim_end().ends_with("</svg>"));
        assert!(chart.contains("Personas rindā mēneša beigās") && chart.contains("Personu skaits") && chart.contains("nov.") && chart.contains("janv."));
        assert!(chart.contains("VSAC &quot;Rīga&quot;"), "legend escaped");
        let path = chart.lines().find(|l| l.starts_with("<path")).unwrap();
        assert_eq!(path.matches('M').count(), 2, "two pieces around the gap: {path}");
        assert_eq!(path.matches('L').count(), 0);
        crate::xml::parse(chart.as_bytes(), &crate::xml::XmlLimits::default()).expect("well-formed");
    }

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(37), (10, 40));
        assert_eq!(nice_scale(120), (50, 150));
    }
}
