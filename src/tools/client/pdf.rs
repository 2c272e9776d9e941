//! A4 pages of text, lines and filled boxes as a PDF, written with `pdf-writer`; TrueType fonts
//! embedded as Type0/CIDFontType2 (Identity-H), subset by `subsetter` to the glyphs used and
//! with a ToUnicode map so that the text can be searched and copied — Latvian diacritics
//! included. `ttf-parser` gives the glyphs and their advances for measuring and wrapping.
//!
//! Input: fonts (TrueType bytes compiled in) and drawing calls in PDF points (origin at the
//! bottom left). Output: the bytes of one PDF file. Knows nothing of SPOLIS; the printout
//! (`printout.rs`) lays out the page. Never panics on text: a character the font lacks is
//! drawn as the font's missing-glyph box.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::{anyhow, Context};
use chrono::{Datelike, Timelike};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;

/// Which of the document's fonts to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontId(usize);

struct EmbeddedFont {
    /// PostScript name, e.g. "DejaVuSans".
    name: String,
    data: &'static [u8],
    face: Face<'static>,
    units_per_em: f32,
    /// The font's glyphs used so far, numbered as they will be in the subset; the content
    /// streams show these new numbers (CID = glyph of the subset).
    glyphs: GlyphRemapper,
    /// Each subset glyph with the character it stands for (for ToUnicode).
    text: BTreeMap<u16, char>,
}

impl EmbeddedFont {
    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map(|g| g.0).unwrap_or(0)
    }

    fn advance(&self, glyph: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0))
    }

    /// PDF glyph space is 1000 units to the em.
    fn to_pdf_units(&self, value: impl Into<f32>) -> f32 {
        (value.into() * 1000.0 / self.units_per_em).round()
    }
}

/// A document being drawn. Pages are added with [`Document::new_page`]; drawing goes to the
/// last page.
pub struct Document {
    fonts: Vec<EmbeddedFont>,
    pages: Vec<Content>,
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
        self.fonts.push(EmbeddedFont { name, data, face, units_per_em, glyphs: GlyphRemapper::new(), text: BTreeMap::new() });
        Ok(FontId(self.fonts.len() - 1))
    }

    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Draws on page `index` (0-based) instead of the last one, e.g. footers once the page
    /// count is known.
    pub fn on_page(&mut self, index: usize) -> Page<'_> {
        if self.pages.is_empty() {
            self.new_page();
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
            self.new_page();
        }
        let mut pdf = Pdf::new();
        let mut next = Ref::new(1);
        let catalog = next.bump();
        let page_tree = next.bump();
        let info = next.bump();
        let font_refs: Vec<Ref> = self.fonts.iter().map(|_| next.bump()).collect();
        let page_refs: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (next.bump(), next.bump())).collect();

        pdf.catalog(catalog).pages(page_tree);
        pdf.pages(page_tree).kids(page_refs.iter().map(|(page, _)| *page)).count(page_refs.len() as i32);
        let now = chrono::Utc::now();
        let created = Date::new(now.year().clamp(0, 9999) as u16)
            .month(now.month() as u8)
            .day(now.day() as u8)
            .hour(now.hour() as u8)
            .minute(now.minute() as u8)
            .second(now.second() as u8)
            .utc_offset_hour(0);
        let producer = format!("spolis-adapter {}", env!("CARGO_PKG_VERSION"));
        pdf.document_info(info).title(TextStr(&self.title)).producer(TextStr(&producer)).creation_date(created);

        let font_names: Vec<String> = (1..=self.fonts.len()).map(|n| format!("F{n}")).collect();
        for (index, ((page, contents), content)) in page_refs.iter().zip(std::mem::take(&mut self.pages)).enumerate() {
            let mut writer = pdf.page(*page);
            writer.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).parent(page_tree).contents(*contents);
            let mut resources = writer.resources();
            let mut fonts = resources.fonts();
            for (name, font) in font_names.iter().zip(&font_refs) {
                fonts.pair(Name(name.as_bytes()), *font);
            }
            fonts.finish();
            resources.finish();
            writer.finish();
            let compressed = deflate(&content.finish()).with_context(|| format!("compressing page {}", index + 1))?;
            pdf.stream(*contents, &compressed).filter(Filter::FlateDecode);
        }
        for (index, (font, type0)) in self.fonts.iter().zip(&font_refs).enumerate() {
            write_font(&mut pdf, &mut next, *type0, index, font).with_context(|| format!("embedding the font {}", font.name))?;
        }
        Ok(pdf.finish())
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
        let mut codes = Vec::with_capacity(2 * text.len());
        for c in text.chars() {
            let glyph = f.glyphs.remap(f.glyph(c));
            f.text.entry(glyph).or_insert(c);
            codes.extend_from_slice(&glyph.to_be_bytes());
        }
        let name = format!("F{}", font.0 + 1);
        let content = &mut self.document.pages[self.index];
        content.begin_text().set_font(Name(name.as_bytes()), size).next_line(x, y).show(Str(&codes)).end_text();
    }

    /// A straight line of the given width and grey level (0 black … 1 white).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, grey: f32) {
        let content = &mut self.document.pages[self.index];
        content.set_stroke_gray(grey).set_line_width(width).move_to(x1, y1).line_to(x2, y2).stroke().set_stroke_gray(0.0);
    }

    /// A filled rectangle, (x, y) its bottom left corner.
    pub fn fill(&mut self, x: f32, y: f32, width: f32, height: f32, grey: f32) {
        let content = &mut self.document.pages[self.index];
        content.set_fill_gray(grey).rect(x, y, width, height).fill_nonzero().set_fill_gray(0.0);
    }
}

/// The Type0 font `type0` with its CIDFont, descriptor, subset font file and ToUnicode map
/// (their references taken from `next`).
fn write_font(pdf: &mut Pdf, next: &mut Ref, type0: Ref, index: usize, font: &EmbeddedFont) -> anyhow::Result<()> {
    let (cid_font, descriptor, font_file, to_unicode) = (next.bump(), next.bump(), next.bump(), next.bump());
    // A subset font is named with a six-letter tag, as PDF readers expect; derived from the
    // font's place so that it does not change from one printout to the next.
    let tag: String = (0..6).map(|i| char::from(b'A' + ((index * 7 + i * 3) % 26) as u8)).collect();
    let base_font = format!("{tag}+{}", font.name);
    let base_font = Name(base_font.as_bytes());

    pdf.type0_font(type0).base_font(base_font).encoding_predefined(Name(b"Identity-H")).descendant_font(cid_font).to_unicode(to_unicode);

    let mut cid = pdf.cid_font(cid_font);
    cid.subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 })
        .font_descriptor(descriptor)
        .default_width(1000.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    // The subset's glyphs are numbered 0, 1, … in the order `remapped_gids` gives.
    let widths: Vec<f32> = font.glyphs.remapped_gids().map(|old| font.to_pdf_units(font.advance(old))).collect();
    cid.widths().consecutive(0, widths);
    cid.finish();

    let face = &font.face;
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(base_font)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            font.to_pdf_units(bbox.x_min),
            font.to_pdf_units(bbox.y_min),
            font.to_pdf_units(bbox.x_max),
            font.to_pdf_units(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(font.to_pdf_units(face.ascender()))
        .descent(font.to_pdf_units(face.descender()))
        .cap_height(font.to_pdf_units(face.capital_height().unwrap_or(face.ascender())))
        .stem_v(80.0)
        .font_file2(font_file);

    let subset = subsetter::subset(font.data, 0, &font.glyphs).map_err(|e| anyhow!("subsetting the font: {e}"))?;
    let compressed = deflate(&subset)?;
    pdf.stream(font_file, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), subset.len() as i32);

    let (cmap_name, ucs) = (Name(b"Adobe-Identity-UCS"), SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"UCS"), supplement: 0 });
    let mut cmap = UnicodeCmap::new(cmap_name, ucs);
    for (glyph, c) in font.text.iter().filter(|(glyph, _)| **glyph != 0) {
        cmap.pair(*glyph, *c);
    }
    let compressed = deflate(&cmap.finish())?;
    pdf.cmap(to_unicode, &compressed).name(cmap_name).system_info(ucs).filter(Filter::FlateDecode);
    Ok(())
}

fn deflate(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}
