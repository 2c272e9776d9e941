//! Reference data of the demo register: the service kinds, the providers (VSAC branches
//! and contract organisations), the 43 municipalities, and the names, streets and document
//! titles the generator draws from. Ids are a table's index + 1, fixed once written.

use rusqlite::Connection;

use super::random::mix;
use crate::store::sqlite::error;
use crate::store::StoreError;

pub(super) const ISAR: usize = 0;
pub(super) const PUSCELA: usize = 1;
pub(super) const GRUPU_DZ: usize = 2;

/// Service kinds (code, name); the row id is the index + 1. The names are the documents'
/// own: the institution as seed 000's printout names it ("Pakalpojuma veids"), the halfway
/// house as its event 12 does, the group apartment as Regulation No. 587 (points 11, 13.3)
/// does. Whom an institution's place is for is the application's client group, not its kind.
pub(super) const SERVICE_KINDS: [(&str, &str); 3] = [
    ("ISAR", "Ilgstošās sociālās aprūpes un sociālās rehabilitācijas institūcija"),
    ("PUSCELA", "Pusceļa māja"),
    ("GRUPU-DZ", "Grupu māja (dzīvoklis)"),
];

pub(super) const MENTAL: usize = 0;
pub(super) const VISION: usize = 1;
pub(super) const CHILD_NO_CARE: usize = 2;
pub(super) const CHILD_DISABLED: usize = 3;

/// Client groups (problēmas būtība), the persons state-funded long-term care is for (code,
/// name); the row id is the index + 1.
pub(super) const CLIENT_GROUPS: [(&str, &str); 4] = [
    ("GARIGI-TRAUCEJUMI", "Pilngadīga persona ar smagiem garīga rakstura traucējumiem"),
    ("REDZES-INVALIDITATE", "Persona ar I vai II grupas redzes invaliditāti"),
    ("BERNS-BEZ-GADIBAS", "Bērns bārenis vai bērns bez vecāku gādības"),
    ("BERNS-INVALIDITATE", "Bērns ar invaliditāti"),
];

/// Whether a client group is children's: their applications are made while they are minors.
pub(super) const fn is_children(group: usize) -> bool {
    group == CHILD_NO_CARE || group == CHILD_DISABLED
}

// Service kinds a provider offers.
const I: u8 = 1 << ISAR;
const PM: u8 = 1 << PUSCELA;
const GD: u8 = 1 << GRUPU_DZ;
// Client groups a provider takes.
const M: u8 = 1 << MENTAL;
const V: u8 = 1 << VISION;
const NC: u8 = 1 << CHILD_NO_CARE;
const CD: u8 = 1 << CHILD_DISABLED;

/// A provider: code, name, address, the service kinds it offers and the client groups it
/// takes (bit sets), how often it is asked for.
pub(super) struct ProviderSeed {
    pub(super) code: &'static str,
    name: &'static str,
    address: &'static str,
    kinds: u8,
    groups: u8,
    pub(super) weight: u32,
}

impl ProviderSeed {
    /// Whether the provider offers service `kind` to client `group`.
    pub(super) const fn serves(&self, kind: usize, group: usize) -> bool {
        self.kinds & (1 << kind) != 0 && self.groups & (1 << group) != 0
    }
}

const fn provider(code: &'static str, name: &'static str, address: &'static str, kinds: u8, groups: u8, weight: u32) -> ProviderSeed {
    ProviderSeed { code, name, address, kinds, groups, weight }
}

/// The providers of state-funded long-term care; the row id is the index + 1.
/// - the branches of the five state social care centres (VSAC "Rīga", "Kurzeme", "Latgale",
///   "Vidzeme", "Zemgale"): most take adults with severe mental disorders, a few children
///   (without parental care, with disabilities) or persons with visual impairment;
/// - contract organisations (līgumorganizācijas, Regulation No. 587 point 5.5: foundations,
///   associations, a few companies) providing the same care under a contract with the
///   ministry, and the halfway houses and group apartments.
///
/// General care of the elderly is municipal and has no state queue, so no municipal care
/// home is here.
pub(super) const PROVIDERS: &[ProviderSeed] = &[
    provider("VSAC-RIG-EZE", "VSAC \"Rīga\" filiāle \"Ezerkrasti\"", "Malienas iela 7, Rīga, LV-1064", I, M | V, 30),
    provider("VSAC-RIG-JUG", "VSAC \"Rīga\" filiāle \"Jugla\"", "Juglas iela 27, Rīga, LV-1064", I, M, 20),
    provider("VSAC-RIG-TEI", "VSAC \"Rīga\" filiāle \"Teika\"", "Gaujas iela 19, Rīga, LV-1026", I, V, 12),
    provider("VSAC-RIG-PLA", "VSAC \"Rīga\" filiāle \"Pļavnieki\"", "Lielvārdes iela 141, Rīga, LV-1082", I, M, 14),
    provider("VSAC-RIG-ROP", "VSAC \"Rīga\" filiāle \"Ropaži\"", "Rīgas iela 20, Ropaži, Ropažu novads, LV-2135", I, M, 8),
    provider("VSAC-RIG-BAL", "VSAC \"Rīga\" filiāle \"Baldone\"", "Sporta iela 4, Baldone, Ķekavas novads, LV-2125", I, CD, 4),
    provider("VSAC-RIG-JUR", "VSAC \"Rīga\" filiāle \"Jūrmala\"", "Dubultu prospekts 1, Jūrmala, LV-2015", I, NC | CD, 3),
    provider("VSAC-KUR-AIZ", "VSAC \"Kurzeme\" filiāle \"Aizpute\"", "Jaunā iela 16, Aizpute, Dienvidkurzemes novads, LV-3456", I, M | V, 10),
    provider("VSAC-KUR-DUN", "VSAC \"Kurzeme\" filiāle \"Dundaga\"", "Talsu iela 2, Dundaga, Talsu novads, LV-3270", I, M, 5),
    provider("VSAC-KUR-ILG", "VSAC \"Kurzeme\" filiāle \"Iļģi\"", "Iļģi, Grobiņas pagasts, Dienvidkurzemes novads, LV-3430", I, M, 5),
    provider("VSAC-KUR-LIE", "VSAC \"Kurzeme\" filiāle \"Liepāja\"", "Kalnu iela 5, Liepāja, LV-3401", I, NC | CD, 5),
    provider("VSAC-KUR-SAB", "VSAC \"Kurzeme\" filiāle \"Sabile\"", "Ventspils iela 30, Sabile, Talsu novads, LV-3294", I, M, 4),
    provider("VSAC-KUR-VEG", "VSAC \"Kurzeme\" filiāle \"Veģi\"", "Veģi, Valdgales pagasts, Talsu novads, LV-3251", I, M, 3),
    provider("VSAC-LAT-KAL", "VSAC \"Latgale\" filiāle \"Kalkūni\"", "Slimnīcas iela 10, Kalkūni, Augšdaugavas novads, LV-5449", I, M, 9),
    provider("VSAC-LAT-VIS", "VSAC \"Latgale\" filiāle \"Višķi\"", "Višķi, Višķu pagasts, Augšdaugavas novads, LV-5481", I, M, 5),
    provider("VSAC-LAT-REZ", "VSAC \"Latgale\" filiāle \"Rēzekne\"", "Meža iela 5, Rēzekne, LV-4601", I, M | CD, 7),
    provider("VSAC-LAT-LIT", "VSAC \"Latgale\" filiāle \"Litene\"", "Litene, Litenes pagasts, Gulbenes novads, LV-4405", I, M, 3),
    provider("VSAC-LAT-IST", "VSAC \"Latgale\" filiāle \"Istra\"", "Istra, Istras pagasts, Ludzas novads, LV-5745", I, M, 3),
    provider("VSAC-VID-ALL", "VSAC \"Vidzeme\" filiāle \"Allaži\"", "Allaži, Allažu pagasts, Siguldas novads, LV-2154", I, M, 12),
    provider("VSAC-VID-RUJ", "VSAC \"Vidzeme\" filiāle \"Rūja\"", "Rūjiena, Valmieras novads, LV-4240", I, M, 5),
    provider("VSAC-VID-IER", "VSAC \"Vidzeme\" filiāle \"Ieriķi\"", "Ieriķi, Drabešu pagasts, Cēsu novads, LV-4139", I, M, 4),
    provider("VSAC-VID-JAU", "VSAC \"Vidzeme\" filiāle \"Jaunlaicene\"", "Jaunlaicene, Jaunlaicenes pagasts, Alūksnes novads, LV-4338", I, M, 3),
    provider("VSAC-VID-VAL", "VSAC \"Vidzeme\" filiāle \"Valmiera\"", "Rīgas iela 46, Valmiera, LV-4201", I, M | V, 8),
    provider("VSAC-ZEM-IEC", "VSAC \"Zemgale\" filiāle \"Iecava\"", "Rīgas iela 61, Iecava, Bauskas novads, LV-3913", I, M, 9),
    provider("VSAC-ZEM-JEL", "VSAC \"Zemgale\" filiāle \"Jelgava\"", "Filozofu iela 40, Jelgava, LV-3001", I, M | CD, 7),
    provider("VSAC-ZEM-LIE", "VSAC \"Zemgale\" filiāle \"Lielbērze\"", "Lielbērze, Auru pagasts, Dobeles novads, LV-3724", I, M, 4),
    provider("VSAC-ZEM-KAL", "VSAC \"Zemgale\" filiāle \"Kalnciems\"", "Lielupes iela 2, Kalnciems, Jelgavas novads, LV-3016", I, M, 4),
    provider("VSAC-ZEM-TAU", "VSAC \"Zemgale\" filiāle \"Taurkalne\"", "Taurkalne, Vecumnieku pagasts, Bauskas novads, LV-3933", I, M, 3),
    provider("LO-0101", "nodibinājums \"Mežmalas aprūpes centrs\"", "Mežmalas iela 3, Ķekava, Ķekavas novads, LV-2123", I, M, 10),
    provider("LO-0102", "biedrība \"Aprūpes centrs Priedes\"", "Priežu iela 8, Saulkrasti, Saulkrastu novads, LV-2160", I, M, 8),
    provider("LO-0103", "SIA \"Sociālās aprūpes centrs Ozollapas\"", "Ozolu iela 12, Ogre, Ogres novads, LV-5001", I, M, 6),
    provider("LO-0104", "nodibinājums \"Sociālās aprūpes centrs Saulrieti\"", "Saulrietu iela 2, Cēsis, Cēsu novads, LV-4101", I, M, 6),
    provider("LO-0105", "biedrība \"Gaismas māja\"", "Gaismas iela 4, Rīga, LV-1013", PM | GD, M, 6),
    provider("LO-0106", "biedrība \"Dzīvesprieks\"", "Zaļā iela 9, Jelgava, LV-3001", GD, M, 4),
    provider("LO-0107", "biedrība \"Rūpju bērns\"", "Rūpniecības iela 21, Ventspils, LV-3601", PM | GD, M, 3),
    provider("LO-0108", "nodibinājums \"Fonds Cerību tilts\"", "Cerību iela 7, Daugavpils, LV-5401", PM | GD, M, 3),
    provider("LO-0109", "SIA \"Latgales sociālās aprūpes centrs\"", "Atbrīvošanas aleja 90, Rēzekne, LV-4601", I, M, 4),
    provider("LO-0110", "biedrība \"Aprūpes nams Ābeļdārzs\"", "Ābeļu iela 15, Rīga, LV-1021", I, V, 10),
    provider("LO-0111", "biedrība \"Aprūpes centrs Liepas\"", "Liepu iela 1, Talsi, Talsu novads, LV-3201", I, M, 5),
    provider("LO-0112", "nodibinājums \"Bērnu ciemats Saulespuķe\"", "Saules iela 5, Ikšķile, Ogres novads, LV-5052", I, NC | CD, 3),
];

/// A municipality: code, name, social service street address, town, postcode, e-mail
/// domain, and a weight (roughly its population share).
pub(super) type MunicipalitySeed = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, u32);

/// The 43 municipalities since the 2021 administrative reform; the row id is the index + 1.
pub(super) const MUNICIPALITIES: [MunicipalitySeed; 43] = [
    ("RIGA", "Rīgas valstspilsēta", "Baznīcas iela 19/23", "Rīga", "LV-1010", "riga", 300),
    ("DAUGAVPILS", "Daugavpils valstspilsēta", "Vienības iela 8", "Daugavpils", "LV-5401", "daugavpils", 40),
    ("JELGAVA", "Jelgavas valstspilsēta", "Pasta iela 47", "Jelgava", "LV-3001", "jelgava", 25),
    ("JURMALA", "Jūrmalas valstspilsēta", "Jomas iela 1/5", "Jūrmala", "LV-2015", "jurmala", 20),
    ("LIEPAJA", "Liepājas valstspilsēta", "Rožu iela 6", "Liepāja", "LV-3401", "liepaja", 30),
    ("REZEKNE", "Rēzeknes valstspilsēta", "Atbrīvošanas aleja 93", "Rēzekne", "LV-4601", "rezekne", 12),
    ("VENTSPILS", "Ventspils valstspilsēta", "Jūras iela 36", "Ventspils", "LV-3601", "ventspils", 14),
    ("AIZKRAUKLE", "Aizkraukles novads", "Lāčplēša iela 1a", "Aizkraukle", "LV-5101", "aizkraukle", 8),
    ("ALUKSNE", "Alūksnes novads", "Dārza iela 11", "Alūksne", "LV-4301", "aluksne", 5),
    ("AUGSDAUGAVA", "Augšdaugavas novads", "Rīgas iela 2", "Daugavpils", "LV-5401", "augsdaugava", 8),
    ("ADAZI", "Ādažu novads", "Gaujas iela 33a", "Ādaži", "LV-2164", "adazi", 5),
    ("BALVI", "Balvu novads", "Bērzpils iela 1a", "Balvi", "LV-4501", "balvi", 5),
    ("BAUSKA", "Bauskas novads", "Uzvaras iela 1", "Bauska", "LV-3901", "bauska", 10),
    ("CESIS", "Cēsu novads", "Raunas iela 4", "Cēsis", "LV-4101", "cesis", 12),
    ("DIENVIDKURZEME", "Dienvidkurzemes novads", "Lielā iela 76", "Grobiņa", "LV-3430", "dkn", 9),
    ("DOBELE", "Dobeles novads", "Brīvības iela 17", "Dobele", "LV-3701", "dobele", 7),
    ("GULBENE", "Gulbenes novads", "Ābeļu iela 2", "Gulbene", "LV-4401", "gulbene", 5),
    ("JELGAVAS-NOV", "Jelgavas novads", "Pasta iela 37", "Jelgava", "LV-3001", "jelgavasnovads", 7),
    ("JEKABPILS", "Jēkabpils novads", "Brīvības iela 120", "Jēkabpils", "LV-5201", "jekabpils", 11),
    ("KRASLAVA", "Krāslavas novads", "Rīgas iela 51", "Krāslava", "LV-5601", "kraslava", 6),
    ("KULDIGA", "Kuldīgas novads", "Baznīcas iela 1", "Kuldīga", "LV-3301", "kuldiga", 8),
    ("KEKAVA", "Ķekavas novads", "Gaismas iela 19", "Ķekava", "LV-2123", "kekava", 9),
    ("LIMBAZI", "Limbažu novads", "Rīgas iela 16", "Limbaži", "LV-4001", "limbazi", 7),
    ("LIVANI", "Līvānu novads", "Rīgas iela 77", "Līvāni", "LV-5316", "livani", 3),
    ("LUDZA", "Ludzas novads", "Raiņa iela 16", "Ludza", "LV-5701", "ludza", 6),
    ("MADONA", "Madonas novads", "Saieta laukums 1", "Madona", "LV-4801", "madona", 9),
    ("MARUPE", "Mārupes novads", "Daugavas iela 29", "Mārupe", "LV-2167", "marupe", 7),
    ("OGRE", "Ogres novads", "Brīvības iela 33", "Ogre", "LV-5001", "ogre", 12),
    ("OLAINE", "Olaines novads", "Zemgales iela 33", "Olaine", "LV-2114", "olaine", 4),
    ("PREILI", "Preiļu novads", "Kārsavas iela 4", "Preiļi", "LV-5301", "preili", 5),
    ("REZEKNES-NOV", "Rēzeknes novads", "Atbrīvošanas aleja 95a", "Rēzekne", "LV-4601", "rezeknesnovads", 8),
    ("ROPAZI", "Ropažu novads", "Institūta iela 1a", "Ulbroka", "LV-2130", "ropazi", 7),
    ("SALASPILS", "Salaspils novads", "Līvzemes iela 8", "Salaspils", "LV-2121", "salaspils", 5),
    ("SALDUS", "Saldus novads", "Striķu iela 3", "Saldus", "LV-3801", "saldus", 7),
    ("SAULKRASTI", "Saulkrastu novads", "Raiņa iela 8", "Saulkrasti", "LV-2160", "saulkrasti", 2),
    ("SIGULDA", "Siguldas novads", "Pils iela 16", "Sigulda", "LV-2150", "sigulda", 7),
    ("SMILTENE", "Smiltenes novads", "Dārza iela 3", "Smiltene", "LV-4729", "smiltene", 5),
    ("TALSI", "Talsu novads", "Kareivju iela 7", "Talsi", "LV-3201", "talsi", 10),
    ("TUKUMS", "Tukuma novads", "Talsu iela 4", "Tukums", "LV-3101", "tukums", 10),
    ("VALKA", "Valkas novads", "Semināra iela 9", "Valka", "LV-4701", "valka", 3),
    ("VALMIERA", "Valmieras novads", "Lāčplēša iela 2", "Valmiera", "LV-4201", "valmiera", 11),
    ("VARAKLANI", "Varakļānu novads", "Rīgas iela 13", "Varakļāni", "LV-4838", "varaklani", 1),
    ("VENTSPILS-NOV", "Ventspils novads", "Skolas iela 4", "Ventspils", "LV-3601", "ventspilsnovads", 3),
];

pub(super) const MALE_NAMES: &[&str] = &[
    "Jānis", "Ēriks", "Kārlis", "Andris", "Ģirts", "Aivars", "Juris", "Pēteris", "Valdis", "Imants", "Gunārs",
    "Edgars", "Māris", "Uldis", "Ivars", "Raimonds", "Arvīds", "Voldemārs", "Viktors", "Oļegs", "Aleksandrs",
    "Gvido", "Ojārs", "Zigurds", "Dainis", "Egīls", "Kristaps", "Mārtiņš", "Rihards", "Ēvalds",
];

pub(super) const FEMALE_NAMES: &[&str] = &[
    "Līga", "Ilze", "Zaiga", "Māra", "Ņina", "Ērika", "Anna", "Inese", "Dace", "Vija", "Rasma", "Skaidrīte",
    "Biruta", "Velta", "Austra", "Aina", "Gaida", "Lūcija", "Valentīna", "Zenta", "Ārija", "Ausma", "Daina",
    "Ligita", "Dzintra", "Ināra", "Ieva", "Kristīne", "Elīza", "Solvita",
];

/// Surnames as (masculine, feminine).
pub(super) const SURNAMES: &[(&str, &str)] = &[
    ("Bērziņš", "Bērziņa"), ("Kalniņš", "Kalniņa"), ("Ozoliņš", "Ozoliņa"), ("Liepiņš", "Liepiņa"),
    ("Krūmiņš", "Krūmiņa"), ("Zariņš", "Zariņa"), ("Vītols", "Vītola"), ("Kļaviņš", "Kļaviņa"),
    ("Ābele", "Ābele"), ("Šmits", "Šmite"), ("Čakste", "Čakste"), ("Jansons", "Jansone"), ("Ozols", "Ozola"),
    ("Balodis", "Balode"), ("Kalējs", "Kalēja"), ("Pētersons", "Pētersone"), ("Eglītis", "Eglīte"),
    ("Lācis", "Lāce"), ("Siliņš", "Siliņa"), ("Vanags", "Vanaga"), ("Grīnbergs", "Grīnberga"),
    ("Zeltiņš", "Zeltiņa"), ("Rozenbergs", "Rozenberga"), ("Freimanis", "Freimane"), ("Ivanovs", "Ivanova"),
    ("Petrovs", "Petrova"), ("Dzenis", "Dzene"), ("Strazdiņš", "Strazdiņa"), ("Kārkliņš", "Kārkliņa"),
    ("Ķēniņš", "Ķēniņa"), ("Žagars", "Žagare"), ("Avotiņš", "Avotiņa"), ("Sproģis", "Sproģe"),
    ("Skujiņš", "Skujiņa"),
];

pub(super) const STREETS: &[&str] = &[
    "Brīvības iela", "Lāčplēša iela", "Krišjāņa Barona iela", "Dzirnavu iela", "Skolas iela", "Dārza iela",
    "Rīgas iela", "Meža iela", "Liepu iela", "Ezera iela", "Saules iela", "Pils iela", "Zaļā iela", "Ganību iela",
];

pub(super) const KIND_MAIN: &str = "Sociālās aprūpes un rehabilitācijas pakalpojums";
pub(super) const KIND_PROVIDER_CHANGE: &str = "Pakalpojuma sniedzēja maiņa";
pub(super) const KIND_SERVICE_CHANGE: &str = "Pakalpojuma veida maiņa";

pub(super) const DOC_APPLICATION: &str = "Iesniegums sociālā pakalpojuma saņemšanai";
pub(super) const DOC_ASSESSMENT: &str = "Sociālā darba speciālista novērtējums par personas vajadzībām";
pub(super) const DOC_GP: &str = "Ģimenes ārsta izziņa par veselības stāvokli";
pub(super) const DOC_PSYCHIATRIST: &str = "Psihiatra atzinums";
pub(super) const DOC_DISABILITY: &str = "Invaliditātes apliecības kopija";
pub(super) const DOC_MUNICIPAL: &str = "Pašvaldības lēmums par pakalpojuma nepieciešamību";
pub(super) const DOC_INCOME: &str = "Izziņa par personas ienākumiem";
pub(super) const DOC_REPRESENTATIVE: &str = "Dokuments, kas apliecina likumiskā pārstāvja pilnvaras";
pub(super) const DOC_ORPHANS_COURT: &str = "Bāriņtiesas lēmums par bērna ārpusģimenes aprūpi";
pub(super) const DOC_CHANGE_PROVIDER: &str = "Iesniegums pakalpojuma sniedzēja maiņai";
pub(super) const DOC_CHANGE_KIND: &str = "Iesniegums pakalpojuma veida maiņai";
pub(super) const DOC_RENEWED: &str = "Aktualizēta ģimenes ārsta izziņa par veselības stāvokli";

/// Requests for additional documents (description, the document that answers it).
pub(super) const REQUESTS: &[(&str, &str)] = &[
    ("Lūdzam iesniegt ģimenes ārsta izziņu par veselības stāvokli", DOC_GP),
    ("Lūdzam iesniegt psihiatra atzinumu", DOC_PSYCHIATRIST),
    ("Lūdzam iesniegt izziņu par personas ienākumiem", DOC_INCOME),
    ("Lūdzam iesniegt pašvaldības lēmumu par pakalpojuma nepieciešamību", DOC_MUNICIPAL),
];
/// Reasons of a refusal (Regulation No. 587 point 10.9).
pub(super) const REFUSAL_NOT_ELIGIBLE: &str =
    "Persona neatbilst valsts finansēta ilgstošas sociālās aprūpes un sociālās rehabilitācijas pakalpojuma saņēmēju lokam";
pub(super) const REFUSAL_NEEDS_TREATMENT: &str =
    "Personas veselības stāvokļa dēļ nepieciešama ārstēšana ārstniecības iestādē, ko institūcija nevar nodrošināt";
pub(super) const RENEWAL_REQUEST: &str = "Lūdzam atjaunot ģimenes ārsta izziņu par veselības stāvokli (derīga 12 mēnešus)";

/// Service kinds, client groups, providers and municipalities: ids are the table index + 1.
pub(super) fn reference_data(conn: &Connection) -> Result<(), StoreError> {
    let what = error("seed: reference data");
    for (i, (code, name)) in SERVICE_KINDS.iter().enumerate() {
        conn.execute("INSERT INTO service_kinds VALUES (?1, ?2, ?3)", (i as i64 + 1, code, name))
            .map_err(&what)?;
    }
    for (i, (code, name)) in CLIENT_GROUPS.iter().enumerate() {
        conn.execute("INSERT INTO client_groups VALUES (?1, ?2, ?3)", (i as i64 + 1, code, name)).map_err(&what)?;
    }
    for (i, p) in PROVIDERS.iter().enumerate() {
        conn.execute("INSERT INTO providers VALUES (?1, ?2, ?3, ?4)", (provider_id(i), p.code, p.name, p.address))
            .map_err(&what)?;
    }
    for (i, (code, name, street, town, postcode, domain, _)) in MUNICIPALITIES.iter().enumerate() {
        let address = format!("{street}, {town}, {postcode}");
        let phone = format!("+371 {}{:05}", landline_area(town), mix(i as u64) % 100_000);
        let email = format!("socialais.dienests@{domain}.lv");
        conn.execute(
            "INSERT INTO municipalities VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (i as i64 + 1, code, name, address, phone, email),
        )
        .map_err(&what)?;
    }
    Ok(())
}

/// The three-digit landline prefix of a town's area (Rīga 67, Kurzeme and Zemgale 63, Vidzeme
/// 64, Latgale and Sēlija 65), as a social service's phone number starts.
pub(super) fn landline_area(town: &str) -> u32 {
    match town {
        "Rīga" | "Ādaži" | "Mārupe" | "Salaspils" | "Ulbroka" | "Ķekava" | "Olaine" => 672,
        "Jūrmala" => 677,
        "Jelgava" => 630,
        "Tukums" => 631,
        "Talsi" => 632,
        "Kuldīga" => 633,
        "Liepāja" | "Grobiņa" => 634,
        "Ventspils" => 636,
        "Dobele" => 637,
        "Saldus" => 638,
        "Bauska" => 639,
        "Limbaži" | "Saulkrasti" => 640,
        "Cēsis" => 641,
        "Valmiera" => 642,
        "Alūksne" => 643,
        "Gulbene" => 644,
        "Balvi" => 645,
        "Rēzekne" => 646,
        "Valka" | "Smiltene" => 647,
        "Madona" | "Varakļāni" => 648,
        "Sigulda" => 679,
        "Ogre" => 650,
        "Aizkraukle" => 651,
        "Jēkabpils" => 652,
        "Preiļi" | "Līvāni" => 653,
        "Daugavpils" => 654,
        "Krāslava" => 656,
        "Ludza" => 657,
        _ => 670,
    }
}

/// The row id of `PROVIDERS[index]`.
pub(super) const fn provider_id(index: usize) -> i64 {
    index as i64 + 1
}
