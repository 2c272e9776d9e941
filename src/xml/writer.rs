//! A minimal XML writer for answers: the answer shapes are fixed by the contract, so writing
//! straight into one `String` is both the simplest and the fastest way. Text and attribute
//! values are escaped here and nowhere else.
//!
//! What it writes is already in canonical form (Exclusive XML Canonicalization 1.0): no
//! whitespace between elements, start and end tags for empty elements, and text and
//! attribute values escaped exactly as C14N escapes them. `wssec` relies on this to digest
//! the signed parts of an answer byte for byte as they are sent; callers must keep
//! attributes in C14N order (namespace declarations first, by prefix, then attributes).

use std::fmt::Write;

use chrono::NaiveDate;

/// Appends XML to a buffer. Tag names are written as given (with their prefix, if any).
#[derive(Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn with_capacity(capacity: usize) -> Self {
        XmlWriter { out: String::with_capacity(capacity) }
    }

    /// Writes raw markup: only for constant strings of this crate, never for data.
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// `<tag>` with namespace declarations or other attributes `(name, value)`.
    pub fn open_with(&mut self, tag: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attributes {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_attribute_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
        self
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Escaped text inside the element last opened.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        escape_into(&mut self.out, text);
        self.close(tag)
    }

    /// `leaf` when there is a value, nothing otherwise (an optional element).
    pub fn leaf_opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(tag, text);
        }
        self
    }

    /// `<tag>YYYY-MM-DD</tag>` (xs:date).
    pub fn date(&mut self, tag: &str, date: NaiveDate) -> &mut Self {
        use chrono::Datelike;
        self.open(tag);
        match u32::try_from(date.year()) {
            // By hand: chrono's format machinery was a measurable share of rendering (BENCHMARKS.md).
            Ok(year @ 0..=9999) => {
                let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
                let (month, day) = (date.month(), date.day());
                for c in [
                    digit(year / 1000), digit(year / 100), digit(year / 10), digit(year), '-',
                    digit(month / 10), digit(month), '-', digit(day / 10), digit(day),
                ] {
                    self.out.push(c);
                }
            }
            // Writing to a String cannot fail.
            _ => drop(write!(self.out, "{}", date.format("%Y-%m-%d"))),
        }
        self.close(tag)
    }

    pub fn date_opt(&mut self, tag: &str, date: Option<NaiveDate>) -> &mut Self {
        if let Some(date) = date {
            self.date(tag, date);
        }
        self
    }

    /// `<tag>number</tag>`.
    pub fn number(&mut self, tag: &str, number: impl std::fmt::Display) -> &mut Self {
        self.open(tag);
        let _ = write!(self.out, "{number}");
        self.close(tag)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Escapes text content as C14N does (`&`, `<`, `>`, carriage return); drops characters
/// XML 1.0 cannot carry at all (control characters other than tab, newline and carriage
/// return), so an odd value in the register can never produce a document the caller cannot
/// parse.
fn escape_into(out: &mut String, text: &str) {
    // Most values need no escaping: copy them whole. 0xEF leads the UTF-8 of U+FFFE/U+FFFF
    // (and of nothing Latvian), so its absence rules those out too.
    let plain = |b: &u8| !matches!(*b, b'<' | b'>' | b'&' | b'\r' | 0xEF) && (*b >= 0x20 || *b == b'\t' || *b == b'\n');
    if text.as_bytes().iter().all(plain) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#xD;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value as C14N does (`&`, `<`, `"`, tab, newline, carriage return).
fn escape_attribute_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes_and_drops_illegal_characters() {
        let mut writer = XmlWriter::default();
        writer.open_with("a", &[("x", "\"<&>'\t\n\r")]).leaf("b", "Ē<&>\"'\u{1}\r\nī").close("a");
        // Exactly as Exclusive C14N writes them.
        assert_eq!(writer.finish(), "<a x=\"&quot;&lt;&amp;>'&#x9;&#xA;&#xD;\"><b>Ē&lt;&amp;&gt;\"'&#xD;\nī</b></a>");
    }

    #[test]
    fn plain_text_is_copied_whole_and_noncharacters_are_still_dropped() {
        let mut writer = XmlWriter::default();
        writer.leaf("p", "Ērika Kalniņa, Ģirts Ķuzis\tā").leaf("q", "x\u{fffe}y\u{ffff}z\u{f8ff}");
        assert_eq!(writer.finish(), "<p>Ērika Kalniņa, Ģirts Ķuzis\tā</p><q>xyz\u{f8ff}</q>");
    }

    #[test]
    fn dates_are_written_as_xsd_dates_whatever_the_year() {
        let mut writer = XmlWriter::default();
        for (y, m, d) in [(1, 2, 3), (2024, 12, 31), (9999, 1, 1), (10000, 1, 1)] {
            writer.date("d", NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }
        assert_eq!(writer.finish(), "<d>0001-02-03</d><d>2024-12-31</d><d>9999-01-01</d><d>+10000-01-01</d>");
    }
}
