//! A small PDF 1.7 writer: A4 pages of text, lines and filled boxes, with TrueType fonts
//! embedded as Type0/CIDFontType2 (Identity-H), subset to the glyphs used and with a
//! ToUnicode map so that the text can be searched and copied — Latvian diacritics included.
//!
//! Input: fonts (TrueType bytes compiled in) and drawing calls in PDF points (origin at the
//! bottom left). Output: the bytes of one PDF file. Knows nothing of SPOLIS; the printout
//! (`printout.rs`) lays out the page. Never panics on text: a character the font lacks is
//! drawn as the font's missing-glyph box.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{anyhow, Context};
use ttf_parser::{Face, Tag};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;

/// Which of the document's fonts to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontId(usize);

struct EmbeddedFont {
    /// PostScript name, e.g. "DejaVuSans".
    name: String,
    face: Face<'static>,
    units_per_em: f32,
    /// Glyphs used, with the text they stand for (for ToUnicode).
    used: BTreeMap<u16, char>,
}

impl EmbeddedFont {
    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map(|g| g.0).unwrap_or(0)
    }

    fn advance(&self, glyph: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(glyph)).unwrap_or(0))
    }
}

/// A document being drawn. Pages are added with [`Document::new_page`]; drawing goes to the
/// last page.
pub struct Document {
    fonts: Vec<EmbeddedFont>,
    pages: Vec<String>,
    title: String,
}

impl Document {
    pub fn new(title: &str) -> Document {
        Document { fonts: Vec::new(), pages: Vec::new(), title: title.to_string() }
    }

    /// Adds a TrueType font from its bytes; `name` is its PostScript name (e.g. "DejaVuSans").
    pub fn add_font(&mut self, name: &str, data: &'static [u8]) -> anyhow::Result<FontId> {
        let face = Face::parse(data, 0).map_err(|e| anyhow!("not a usable TrueType font: {e}"))?;
        let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let units_per_em = f32::from(face.units_per_em());
        self.fonts.push(EmbeddedFont { name, face, units_per_em, used: BTreeMap::new() });
        Ok(FontId(self.fonts.len() - 1))
    }

    pub fn new_page(&mut self) {
        self.pages.push(String::new());
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Draws on page `index` (0-based) instead of the last one, e.g. footers once the page
    /// count is known.
    pub fn on_page(&mut self, index: usize) -> Page<'_> {
        if self.pages.is_empty() {
            self.pages.push(String::new());
        }
        let index = index.min(self.pages.len() - 1);
        Page { document: self, index }
    }

    /// Draws on the last page.
    pub fn page(&mut self) -> Page<'_> {
        let last = self.pages.len().saturating_sub(1);
        self.on_page(last)
    }

    /// The width of `text` in points.
    pub fn measure(&self, font: FontId, size: f32, text: &str) -> f32 {
        let Some(f) = self.fonts.get(font.0) else { return 0.0 };
        text.chars().map(|c| f.advance(f.glyph(c))).sum::<f32>() * size / f.units_per_em
    }

    /// Breaks `text` into lines no wider than `width` (at spaces; a word longer than a line
    /// is broken between characters).
    pub fn wrap(&self, font: FontId, size: f32, text: &str, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if self.measure(font, size, &candidate) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: break it if it is wider than a line.
                for c in word.chars() {
                    let mut longer = line.clone();
                    longer.push(c);
                    if !line.is_empty() && self.measure(font, size, &longer) > width {
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    } else {
                        line = longer;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    /// The finished PDF.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        if self.pages.is_empty() {
            self.pages.push(String::new());
        }
        let mut out = PdfOut::new();
        // Object numbers: 1 catalog, 2 pages, 3 info, then fonts (5 objects each), then pages (2 each).
        let font_base = 4;
        let page_base = font_base + 5 * self.fonts.len();
        let page_ids: Vec<usize> = (0..self.pages.len()).map(|i| page_base + 2 * i).collect();

        out.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
        let kids: String = page_ids.iter().map(|id| format!("{id} 0 R ")).collect();
        out.object(2, &format!("<< /Type /Pages /Kids [{kids}] /Count {} >>", self.pages.len()));
        let now = chrono::Utc::now().format("D:%Y%m%d%H%M%SZ");
        out.object(
            3,
            &format!("<< /Title {} /Producer (spolis-adapter {}) /CreationDate ({now}) >>", pdf_text_string(&self.title), env!("CARGO_PKG_VERSION")),
        );

        let mut font_resources = String::new();
        for (index, font) in self.fonts.iter().enumerate() {
            let id = font_base + 5 * index;
            let _ = write!(font_resources, "/F{} {id} 0 R ", index + 1);
            write_font(&mut out, id, index, font)?;
        }
        for (index, content) in self.pages.iter().enumerate() {
            let page_id = page_ids[index];
            out.object(
                page_id,
                &format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Resources << /Font << {font_resources}>> >> /Contents {} 0 R >>",
                    page_id + 1
                ),
            );
            out.stream(page_id + 1, "", content.as_bytes())?;
        }
        Ok(out.finish(page_base + 2 * self.pages.len()))
    }
}

/// Drawing on one page; coordinates in points from the bottom left.
pub struct Page<'a> {
    document: &'a mut Document,
    index: usize,
}

impl Page<'_> {
    /// Text with its baseline starting at (x, y).
    pub fn text(&mut self, font: FontId, size: f32, x: f32, y: f32, text: &str) {
        let Some(f) = self.document.fonts.get_mut(font.0) else { return };
        let glyphs = text.chars().map(|c| {
            let glyph = f.glyph(c);
            f.used.entry(glyph).or_insert(c);
            glyph
        });
        let hex = hex_units(glyphs);
        let ops = &mut self.document.pages[self.index];
        let _ = writeln!(ops, "BT /F{} {size:.2} Tf {x:.2} {y:.2} Td <{hex}> Tj ET", font.0 + 1);
    }

    /// A straight line of the given width and grey level (0 black … 1 white).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, grey: f32) {
        let ops = &mut self.document.pages[self.index];
        let _ = writeln!(ops, "{grey:.2} G {width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S 0 G");
    }

    /// A filled rectangle, (x, y) its bottom left corner.
    pub fn fill(&mut self, x: f32, y: f32, width: f32, height: f32, grey: f32) {
        let ops = &mut self.document.pages[self.index];
        let _ = writeln!(ops, "{grey:.2} g {x:.2} {y:.2} {width:.2} {height:.2} re f 0 g");
    }
}

/// Type0 font `id`, its CIDFont `id+1`, descriptor `id+2`, font file `id+3`, ToUnicode `id+4`.
fn write_font(out: &mut PdfOut, id: usize, index: usize, font: &EmbeddedFont) -> anyhow::Result<()> {
    // A subset font is named with a six-letter tag, as PDF readers expect.
    let tag: String = (0..6).map(|i| char::from(b'A' + ((index * 7 + i * 3) % 26) as u8)).collect();
    let base_font = format!("{tag}+{}", font.name);
    out.object(
        id,
        &format!("<< /Type /Font /Subtype /Type0 /BaseFont /{base_font} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>", id + 1, id + 4),
    );
    let scale = 1000.0 / font.units_per_em;
    let mut widths = String::new();
    for glyph in font.used.keys() {
        let _ = write!(widths, "{glyph} [{:.0}] ", font.advance(*glyph) * scale);
    }
    out.object(
        id + 1,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base_font} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>",
            id + 2
        ),
    );
    let face = &font.face;
    let bbox = face.global_bounding_box();
    let s = |v: i16| (f32::from(v) * scale).round();
    out.object(
        id + 2,
        &format!(
            "<< /Type /FontDescriptor /FontName /{base_font} /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {} 0 R >>",
            s(bbox.x_min),
            s(bbox.y_min),
            s(bbox.x_max),
            s(bbox.y_max),
            s(face.ascender()),
            s(face.descender()),
            s(face.capital_height().unwrap_or(face.ascender())),
            id + 3
        ),
    );
    let subset = subset_font(font).context("subsetting the font")?;
    out.stream(id + 3, &format!("/Length1 {}", subset.len()), &subset)?;
    out.stream(id + 4, "", to_unicode_cmap(&font.used).as_bytes())?;
    Ok(())
}

fn to_unicode_cmap(used: &BTreeMap<u16, char>) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = used.iter().filter(|(glyph, _)| **glyph != 0).collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (glyph, c) in chunk {
            let mut units = [0u16; 2];
            let utf16 = hex_units(c.encode_utf16(&mut units).iter().copied());
            let _ = writeln!(cmap, "<{}> <{utf16}>", hex_units([**glyph]));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

/// The font with only the tables a PDF reader needs, and the outlines of the used glyphs
/// (and the components of composite ones) only; glyph ids stay as they are.
fn subset_font(font: &EmbeddedFont) -> anyhow::Result<Vec<u8>> {
    let raw = font.face.raw_face();
    let table = |name: &[u8; 4]| raw.table(Tag::from_bytes(name));
    let head = table(b"head").ok_or_else(|| anyhow!("no head table"))?;
    let loca = table(b"loca").ok_or_else(|| anyhow!("no loca table"))?;
    let glyf = table(b"glyf").ok_or_else(|| anyhow!("no glyf table"))?;
    let long_offsets = head.get(50..52).ok_or_else(|| anyhow!("short head table"))? == [0, 1];
    let glyph_count = usize::from(font.face.number_of_glyphs());
    let offset = |glyph: usize| -> Option<usize> {
        if long_offsets {
            let b = loca.get(glyph * 4..glyph * 4 + 4)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        } else {
            let b = loca.get(glyph * 2..glyph * 2 + 2)?;
            Some(usize::from(u16::from_be_bytes([b[0], b[1]])) * 2)
        }
    };
    let outline = |glyph: usize| -> Option<&[u8]> { glyf.get(offset(glyph)?..offset(glyph + 1)?) };

    // The used glyphs, .notdef, and every component of a composite glyph.
    let mut keep: BTreeSet<usize> = font.used.keys().map(|g| usize::from(*g)).collect();
    keep.insert(0);
    let mut pending: Vec<usize> = keep.iter().copied().collect();
    while let Some(glyph) = pending.pop() {
        for component in components(outline(glyph).unwrap_or_default()) {
            if component < glyph_count && keep.insert(component) {
                pending.push(component);
            }
        }
    }

    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity((glyph_count + 1) * 4);
    for glyph in 0..glyph_count {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if keep.contains(&glyph) {
            new_glyf.extend_from_slice(outline(glyph).unwrap_or_default());
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let mut new_head = head.to_vec();
    new_head[8..12].copy_from_slice(&[0, 0, 0, 0]); // checkSumAdjustment: not recomputed
    new_head[50..52].copy_from_slice(&[0, 1]); // long loca offsets

    let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![(*b"glyf", new_glyf), (*b"head", new_head), (*b"loca", new_loca)];
    for name in [b"cvt ", b"fpgm", b"hhea", b"hmtx", b"maxp", b"prep", b"OS/2", b"post", b"name"] {
        if let Some(data) = table(name) {
            tables.push((*name, data.to_vec()));
        }
    }
    tables.sort_by_key(|table| table.0);
    Ok(assemble_sfnt(&tables))
}

/// The glyph ids a composite glyph refers to (none for a simple glyph).
fn components(outline: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let Some(contours) = outline.get(0..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else { return found };
    if contours >= 0 {
        return found;
    }
    let mut at = 10;
    while let (Some(flags), Some(glyph)) = (read_u16(outline, at), read_u16(outline, at + 2)) {
        found.push(usize::from(glyph));
        at += 4;
        at += if flags & 0x0001 != 0 { 4 } else { 2 };
        if flags & 0x0008 != 0 {
            at += 2;
        } else if flags & 0x0040 != 0 {
            at += 4;
        } else if flags & 0x0080 != 0 {
            at += 8;
        }
        if flags & 0x0020 == 0 {
            break;
        }
    }
    found
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// An sfnt file from its tables (sorted by tag).
fn assemble_sfnt(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let count = tables.len() as u16;
    let mut power = 1u16;
    let mut selector = 0u16;
    while power * 2 <= count {
        power *= 2;
        selector += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for value in [count, power * 16, selector, count * 16 - power * 16] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    for (tag, data) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// A PDF string in UTF-16BE with a byte order mark (for the document information).
fn pdf_text_string(text: &str) -> String {
    format!("<FEFF{}>", hex_units(text.encode_utf16()))
}

/// 16-bit units (glyph ids, UTF-16) as the upper-case, big-endian hex of PDF hex strings.
fn hex_units(units: impl IntoIterator<Item = u16>) -> String {
    hex::encode_upper(units.into_iter().flat_map(u16::to_be_bytes).collect::<Vec<u8>>())
}

/// The file being written: objects with their offsets, then the cross-reference table.
struct PdfOut {
    bytes: Vec<u8>,
    offsets: BTreeMap<usize, usize>,
}

impl PdfOut {
    fn new() -> PdfOut {
        let mut bytes = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        bytes.reserve(64 * 1024);
        PdfOut { bytes, offsets: BTreeMap::new() }
    }

    fn object(&mut self, id: usize, body: &str) {
        self.offsets.insert(id, self.bytes.len());
        let _ = write!(self.bytes, "{id} 0 obj\n{body}\nendobj\n");
    }

    /// A Flate-compressed stream with extra dictionary entries.
    fn stream(&mut self, id: usize, extra: &str, data: &[u8]) -> anyhow::Result<()> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data)?;
        let compressed = encoder.finish()?;
        self.offsets.insert(id, self.bytes.len());
        let _ = write!(self.bytes, "{id} 0 obj\n<< /Length {} /Filter /FlateDecode {extra} >>\nstream\n", compressed.len());
        self.bytes.extend_from_slice(&compressed);
        self.bytes.extend_from_slice(b"\nendstream\nendobj\n");
        Ok(())
    }

    fn finish(mut self, object_count: usize) -> Vec<u8> {
        let xref = self.bytes.len();
        let _ = write!(self.bytes, "xref\n0 {object_count}\n0000000000 65535 f \n");
        for id in 1..object_count {
            let offset = self.offsets.get(&id).copied().unwrap_or(0);
            let _ = writeln!(self.bytes, "{offset:010} 00000 n ");
        }
        let _ = write!(self.bytes, "trailer\n<< /Size {object_count} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        self.bytes
    }
}
