//! RFC 3161 time-stamps on witnessed checkpoints. With `[audit] tsa_url` set, each line the
//! witness file takes is sent (as its SHA-256) to that time-stamping authority, and the token
//! it answers is appended to the witness file as a line of its own:
//!
//! ```text
//! spolis-audit-timestamp v1 seq=42 imprint=<sha-256 hex of the checkpoint's line> token=<base64 DER TimeStampToken>
//! ```
//!
//! A token proves the checkpoint line existed at the TSA's `genTime`, signed by a key that is
//! not ours: even whoever holds the audit signing key cannot back-date a rewritten log past
//! it. `audit verify --witness FILE --tsa-ca CA.pem` checks every token: its CMS signature, the
//! TSA certificate's chain to the CA (with the timeStamping purpose, at `genTime`), that it
//! stamps that very line, and that the line's signing time is not after `genTime`.
//!
//! Requests run on a thread of their own from a bounded queue, like the witness command: a
//! TSA that is slow or down is logged and counted, never waited for by the writer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use crate::error::ErrorChain;

const MAGIC: &str = "spolis-audit-timestamp";
const VERSION: &str = "v1";
/// Lines waiting for the TSA before further ones are dropped (and counted).
const QUEUE: usize = 64;
/// Time for one request, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read.
const MAX_RESPONSE: usize = 64 * 1024;
/// A checkpoint may claim a signing time this much after the TSA's clock (clock skew).
const SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8), DER content octets.
const EKU_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// What is wrong with a time-stamp token ("it": the token).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("it is not a CMS ContentInfo")]
    NotContentInfo(#[source] der::Error),
    #[error("it is not CMS SignedData")]
    NotSignedData,
    #[error("its SignedData cannot be read")]
    SignedData(#[source] der::Error),
    #[error("it does not hold a TSTInfo")]
    NotTstInfo,
    #[error("its TSTInfo is missing")]
    NoTstInfo,
    #[error("its TSTInfo cannot be read")]
    TstInfo(#[source] der::Error),
    #[error("it stamps a {0} digest, not SHA-256")]
    NotSha256(ObjectIdentifier),
    #[error("its imprint is not 32 bytes")]
    ImprintLength,
    #[error("its genTime is not UTC")]
    GenTimeNotUtc,
    #[error("its genTime {0:?} cannot be read")]
    GenTime(String),
    #[error("it stamps another document")]
    OtherDocument,
    #[error("it has no signer")]
    NoSigner,
    #[error("its signer digests with {0} (only SHA-256 is accepted)")]
    SignerDigest(ObjectIdentifier),
    #[error("its signer signs no attributes")]
    NoSignedAttributes,
    #[error("its signed attribute {0} is missing")]
    MissingAttribute(ObjectIdentifier),
    #[error("its signed attributes cannot be read")]
    SignedAttributes(#[source] der::Error),
    #[error("its signed digest does not match its content")]
    DigestMismatch,
    #[error("its signed content type is not TSTInfo")]
    ContentType,
    #[error("its signature algorithm {0} is not supported")]
    SignatureAlgorithm(ObjectIdentifier),
    #[error("a TSA CA certificate cannot be used")]
    Anchor(#[source] webpki::Error),
    #[error("it carries no certificate (the request asks for one)")]
    NoCertificate,
    #[error("its signature does not verify")]
    BadSignature,
    #[error("its TSA certificate is not trusted for time-stamping")]
    Untrusted(#[source] webpki::Error),
}

/// Why time-stamping cannot start, a checkpoint was not time-stamped, or a witness file's
/// time-stamps do not hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    #[error("time-stamps are kept in the witness file: set one")]
    NoWitnessFile,
    #[error("[audit] tsa_url {url:?} is not a URL")]
    NotAUrl { url: String, source: http::uri::InvalidUri },
    #[error("[audit] tsa_url must be an http:// URL (the tokens are signed; RFC 3161 over HTTP)")]
    NotHttp,
    #[error("[audit] tsa_url names no host")]
    NoHost,
    #[error("cannot start the time-stamping thread")]
    Thread(#[source] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect to the TSA")]
    Connect(#[source] std::io::Error),
    #[error("the request to the TSA cannot be made")]
    Request(#[source] http::Error),
    #[error("the exchange with the TSA failed")]
    Exchange(#[source] hyper::Error),
    #[error("the TSA answered HTTP {0}")]
    Status(http::StatusCode),
    #[error("reading the TSA's answer")]
    Answer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the TSA's answer is not a TimeStampResp")]
    NotAResponse(#[source] der::Error),
    #[error("the TSA refused the request (status {0})")]
    Refused(u8),
    #[error("the TSA granted no token")]
    NoToken,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the TSA stamped another document")]
    StampedOther,
    #[error(transparent)]
    Witness(#[from] super::witness::WitnessError),
    #[error("the time-stamp at {} line {line} stamps no checkpoint line of this witness", .file.display())]
    Unmatched { file: PathBuf, line: usize },
    #[error("the time-stamp at {} line {line} names seq {named} but stamps the line of seq {stamped}", .file.display())]
    OtherSeq { file: PathBuf, line: usize, named: i64, stamped: i64 },
    #[error("the time-stamp at {} line {line} does not verify", .file.display())]
    Invalid { file: PathBuf, line: usize, source: TokenError },
    /// The checkpoint's signing time is after the TSA's time: someone back-dated a rewrite.
    #[error("the checkpoint at seq {seq} claims to be signed at {signed_at}, after the TSA stamped it ({gen_time}): its time is false")]
    Backdated { seq: i64, signed_at: DateTime<Utc>, gen_time: DateTime<Utc> },
}

/// The DER `TimeStampReq` for a SHA-256 `digest`, asking for the TSA's certificate.
pub fn request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let mut nonce_bytes = nonce.to_be_bytes().to_vec();
    if nonce_bytes[0] & 0x80 != 0 {
        nonce_bytes.insert(0, 0);
    }
    let mut imprint = vec![0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
    imprint.extend_from_slice(digest);
    let mut body = vec![0x02, 0x01, 0x01, 0x30, imprint.len() as u8];
    body.extend_from_slice(&imprint);
    body.extend_from_slice(&[0x02, nonce_bytes.len() as u8]);
    body.extend_from_slice(&nonce_bytes);
    body.extend_from_slice(&[0x01, 0x01, 0xff]);
    let mut request = vec![0x30, body.len() as u8];
    request.extend_from_slice(&body);
    request
}

/// The `TimeStampToken` of a `TimeStampResp`, if the TSA granted one.
pub fn token_from_response(response: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let (status, token) = read_response(response).map_err(TimestampError::NotAResponse)?;
    // 0 granted, 1 granted with modifications.
    if status > 1 {
        return Err(TimestampError::Refused(status));
    }
    token.ok_or(TimestampError::NoToken)
}

/// A `TimeStampResp`'s status and token.
fn read_response(response: &[u8]) -> der::Result<(u8, Option<Vec<u8>>)> {
    SliceReader::new(response)?.sequence(|r| {
        let info: AnyRef<'_> = r.decode()?;
        let status = info.sequence(|s| {
            let status: u8 = s.decode()?;
            while !s.is_finished() {
                let _: AnyRef<'_> = s.decode()?;
            }
            Ok(status)
        })?;
        let token: Option<AnyRef<'_>> = if r.is_finished() { None } else { Some(r.decode()?) };
        Ok((status, token.map(|t| t.to_der()).transpose()?))
    })
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub gen_time: DateTime<Utc>,
    /// The TSA certificate's subject.
    pub tsa: String,
}

/// The message imprint (SHA-256) and time of a token, without checking its signature.
pub fn read_token(token: &[u8]) -> Result<([u8; 32], DateTime<Utc>), TokenError> {
    let (_, tst_info) = signed_tst_info(token)?;
    tst_info_fields(&tst_info)
}

/// Checks `token` fully: a CMS SignedData over a TSTInfo stamping `imprint`, signed by a
/// certificate it carries that chains to one of `anchors` (PEM CA certificates' DER) for
/// time-stamping, valid at the stamped time.
pub fn verify_token(token: &[u8], imprint: &[u8; 32], anchors: &[Vec<u8>]) -> Result<Stamped, TokenError> {
    use cms::cert::CertificateChoices;
    use rustls::pki_types::{CertificateDer, UnixTime};
    let (signed_data, tst_info) = signed_tst_info(token)?;
    let (stamped, gen_time) = tst_info_fields(&tst_info)?;
    if &stamped != imprint {
        return Err(TokenError::OtherDocument);
    }

    let signer = signed_data.signer_infos.0.iter().next().ok_or(TokenError::NoSigner)?;
    if signer.digest_alg.oid != ID_SHA256 {
        return Err(TokenError::SignerDigest(signer.digest_alg.oid));
    }
    let attributes = signer.signed_attrs.as_ref().ok_or(TokenError::NoSignedAttributes)?;
    let attribute = |oid: ObjectIdentifier| {
        attributes.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next()).ok_or(TokenError::MissingAttribute(oid))
    };
    let digest = attribute(ID_MESSAGE_DIGEST)?.decode_as::<OctetStringRef<'_>>().map_err(TokenError::SignedAttributes)?;
    if digest.as_bytes() != Sha256::digest(&tst_info).as_slice() {
        return Err(TokenError::DigestMismatch);
    }
    if attribute(ID_CONTENT_TYPE)?.decode_as::<ObjectIdentifier>().map_err(TokenError::SignedAttributes)? != ID_CT_TST_INFO {
        return Err(TokenError::ContentType);
    }
    let signed = attributes.to_der().map_err(TokenError::SignedAttributes)?;
    let algorithms: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm] = match signer.signature_algorithm.oid {
        oid if oid == RSA_ENCRYPTION || oid == SHA256_WITH_RSA => &[webpki::ring::RSA_PKCS1_2048_8192_SHA256],
        oid if oid == ECDSA_WITH_SHA256 => &[webpki::ring::ECDSA_P256_SHA256, webpki::ring::ECDSA_P384_SHA256],
        oid => return Err(TokenError::SignatureAlgorithm(oid)),
    };

    let certificates: Vec<Vec<u8>> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(certificate) => certificate.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let anchors = anchors
        .iter()
        .map(|der| webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice())).map(|a| a.to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TokenError::Anchor)?;
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(gen_time.timestamp()).unwrap_or(0)));
    let all: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm] = &[
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        webpki::ring::RSA_PKCS1_2048_8192_SHA384,
        webpki::ring::RSA_PKCS1_2048_8192_SHA512,
        webpki::ring::ECDSA_P256_SHA256,
        webpki::ring::ECDSA_P384_SHA384,
        webpki::ring::ECDSA_P256_SHA384,
        webpki::ring::ECDSA_P384_SHA256,
        webpki::ring::ED25519,
    ];
    let mut last_error = TokenError::NoCertificate;
    for (index, der) in certificates.iter().enumerate() {
        let certificate = CertificateDer::from(der.as_slice());
        let Ok(end_entity) = webpki::EndEntityCert::try_from(&certificate) else { continue };
        if !algorithms.iter().any(|algorithm| end_entity.verify_signature(*algorithm, &signed, signer.signature.as_bytes()).is_ok()) {
            last_error = TokenError::BadSignature;
            continue;
        }
        let others: Vec<CertificateDer<'_>> =
            certificates.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, der)| CertificateDer::from(der.as_slice())).collect();
        match end_entity.verify_for_usage(all, &anchors, &others, at, webpki::KeyUsage::required(EKU_TIME_STAMPING), None, None) {
            Ok(_) => {
                let tsa = x509_parser::parse_x509_certificate(der).map(|(_, c)| c.subject().to_string()).unwrap_or_default();
                return Ok(Stamped { gen_time, tsa });
            }
            Err(error) => last_error = TokenError::Untrusted(error),
        }
    }
    Err(last_error)
}

/// The token's SignedData and the DER of the TSTInfo it encapsulates.
fn signed_tst_info(token: &[u8]) -> Result<(cms::signed_data::SignedData, Vec<u8>), TokenError> {
    let content_info = cms::content_info::ContentInfo::from_der(token).map_err(TokenError::NotContentInfo)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(TokenError::NotSignedData);
    }
    let signed_data: cms::signed_data::SignedData = content_info.content.decode_as().map_err(TokenError::SignedData)?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TokenError::NotTstInfo);
    }
    let content = signed_data.encap_content_info.econtent.as_ref().ok_or(TokenError::NoTstInfo)?;
    let tst_info = content.decode_as::<OctetStringRef<'_>>().map_err(TokenError::TstInfo)?.as_bytes().to_vec();
    Ok((signed_data, tst_info))
}

/// The SHA-256 imprint and `genTime` of a TSTInfo.
fn tst_info_fields(tst_info: &[u8]) -> Result<([u8; 32], DateTime<Utc>), TokenError> {
    let (algorithm, hashed, gen_time) = read_tst_info(tst_info).map_err(TokenError::TstInfo)?;
    if algorithm != ID_SHA256 {
        return Err(TokenError::NotSha256(algorithm));
    }
    let hashed: [u8; 32] = hashed.try_into().map_err(|_| TokenError::ImprintLength)?;
    Ok((hashed, generalized_time(&gen_time)?))
}

/// A TSTInfo's imprint algorithm, imprint and the content octets of its `genTime`.
fn read_tst_info(tst_info: &[u8]) -> der::Result<(ObjectIdentifier, Vec<u8>, Vec<u8>)> {
    SliceReader::new(tst_info)?.sequence(|r| {
        let _version: u8 = r.decode()?;
        let _policy: ObjectIdentifier = r.decode()?;
        let (algorithm, hashed) = r.sequence(|imprint| {
            let algorithm = imprint.sequence(|id| {
                let oid: ObjectIdentifier = id.decode()?;
                while !id.is_finished() {
                    let _: AnyRef<'_> = id.decode()?;
                }
                Ok(oid)
            })?;
            let hashed: OctetStringRef<'_> = imprint.decode()?;
            Ok((algorithm, hashed.as_bytes().to_vec()))
        })?;
        let _serial: AnyRef<'_> = r.decode()?;
        let gen_time: AnyRef<'_> = r.decode()?;
        if gen_time.tag() != Tag::GeneralizedTime {
            return Err(Tag::GeneralizedTime.value_error());
        }
        let gen_time = gen_time.value().to_vec();
        while !r.is_finished() {
            let _: AnyRef<'_> = r.decode()?;
        }
        Ok((algorithm, hashed, gen_time))
    })
}

/// `YYYYMMDDHHMMSS[.fff]Z`, as RFC 3161 allows (fractions included, unlike DER's profile).
fn generalized_time(bytes: &[u8]) -> Result<DateTime<Utc>, TokenError> {
    let text = std::str::from_utf8(bytes).ok().and_then(|t| t.strip_suffix('Z')).ok_or(TokenError::GenTimeNotUtc)?;
    let unreadable = || TokenError::GenTime(text.to_string());
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unreadable());
    }
    let time = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").map_err(|_| unreadable())?;
    let nanos = match fraction {
        "" => 0,
        digits if digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) => format!("{digits:0<9}").parse::<u32>().unwrap_or(0),
        _ => return Err(unreadable()),
    };
    Ok(time.and_utc() + chrono::TimeDelta::nanoseconds(i64::from(nanos)))
}

/// A time-stamp line of a witness file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedTimestamp {
    pub seq: i64,
    /// SHA-256 of the checkpoint line it stamps.
    pub imprint: [u8; 32],
    pub token: Vec<u8>,
    /// 1-based.
    pub line: usize,
}

pub fn is_timestamp_line(text: &str) -> bool {
    text.starts_with(MAGIC) && text[MAGIC.len()..].starts_with(' ')
}

pub fn line(seq: i64, imprint: &[u8; 32], token: &[u8]) -> String {
    format!("{MAGIC} {VERSION} seq={seq} imprint={} token={}", hex::encode(imprint), base64::engine::general_purpose::STANDARD.encode(token))
}

pub fn parse_line(text: &str, line: usize) -> Option<WitnessedTimestamp> {
    let mut words = text.split(' ');
    if words.next()? != MAGIC || words.next()? != VERSION {
        return None;
    }
    let mut field = |name: &str| words.next()?.strip_prefix(name)?.strip_prefix('=').map(str::to_string);
    let seq = field("seq")?.parse().ok()?;
    let imprint = hex::decode(field("imprint")?).ok()?.try_into().ok()?;
    let token = base64::engine::general_purpose::STANDARD.decode(field("token")?).ok()?;
    if words.next().is_some() {
        return None;
    }
    Some(WitnessedTimestamp { seq, imprint, token, line })
}

/// Checks every time-stamp line of the witness file at `path` against the checkpoint lines
/// of the same file and the TSA `anchors`; returns how many there are and the latest time.
pub fn verify_file(path: &Path, anchors: &[Vec<u8>]) -> Result<(usize, Option<Stamped>), TimestampError> {
    let (checkpoints, stamps) = super::witness::read_all(path)?;
    let mut latest: Option<Stamped> = None;
    for stamp in &stamps {
        let (file, line) = (path.to_path_buf(), stamp.line);
        let Some(checkpoint) = checkpoints.iter().find(|c| c.line_sha256 == stamp.imprint) else {
            return Err(TimestampError::Unmatched { file, line });
        };
        if checkpoint.seq != stamp.seq {
            return Err(TimestampError::OtherSeq { file, line, named: stamp.seq, stamped: checkpoint.seq });
        }
        let stamped = verify_token(&stamp.token, &stamp.imprint, anchors).map_err(|source| TimestampError::Invalid { file, line, source })?;
        let signed_at = DateTime::from_timestamp_micros(checkpoint.signed_at_micros).unwrap_or_default();
        if signed_at > stamped.gen_time + SKEW {
            return Err(TimestampError::Backdated { seq: checkpoint.seq, signed_at, gen_time: stamped.gen_time });
        }
        if latest.as_ref().is_none_or(|l| stamped.gen_time > l.gen_time) {
            latest = Some(stamped);
        }
    }
    Ok((stamps.len(), latest))
}

/// Reads PEM certificates (the TSA's CA) as DER.
pub fn read_anchors(path: &Path) -> Result<Vec<Vec<u8>>, crate::tls::PemError> {
    let certificates = crate::tls::read_certificates(path)?;
    Ok(certificates.into_iter().map(|c| c.as_ref().to_vec()).collect())
}

/// Sends each queued checkpoint line to the TSA at `url` and appends the token's line to
/// `witness`; failures are logged and counted in `failures`.
pub fn spawn(url: &str, witness: PathBuf, failures: Counter, pending: Arc<AtomicUsize>) -> Result<SyncSender<(i64, String)>, TimestampError> {
    let uri: http::Uri = url.parse().map_err(|source| TimestampError::NotAUrl { url: url.to_string(), source })?;
    if uri.scheme_str() != Some("http") {
        return Err(TimestampError::NotHttp);
    }
    let authority = uri.authority().map(|a| a.to_string()).ok_or(TimestampError::NoHost)?;
    let (sender, lines) = mpsc::sync_channel::<(i64, String)>(QUEUE);
    std::thread::Builder::new().name("audit-tsa".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => return tracing::error!(%error, "cannot start the time-stamping runtime"),
        };
        for (seq, checkpoint_line) in lines {
            let imprint: [u8; 32] = Sha256::digest(checkpoint_line.as_bytes()).into();
            let answer = runtime.block_on(async { tokio::time::timeout(TIMEOUT, fetch(&uri, &authority, request(&imprint, nonce()))).await });
            let stamped = answer
                .map_err(|_| TimestampError::Timeout(TIMEOUT))
                .and_then(|answer| answer)
                .and_then(|response| keep_token(&witness, seq, &imprint, &response));
            if let Err(error) = stamped {
                failures.inc();
                tracing::error!(seq, error = %ErrorChain(&error), "audit checkpoint not time-stamped");
            }
            pending.fetch_sub(1, Ordering::AcqRel);
        }
    })
    .map_err(TimestampError::Thread)?;
    Ok(sender)
}

/// Appends the token of the TSA's `response` to the `witness` file, if it stamps `imprint`.
fn keep_token(witness: &Path, seq: i64, imprint: &[u8; 32], response: &[u8]) -> Result<(), TimestampError> {
    let token = token_from_response(response)?;
    // Only a token for this line is kept; the whole check is `audit verify`'s.
    if read_token(&token)?.0 != *imprint {
        return Err(TimestampError::StampedOther);
    }
    Ok(super::witness::append_line(witness, &line(seq, imprint, &token))?)
}

/// Queues `line` (of checkpoint `seq`) for time-stamping; a full queue is counted, not waited for.
pub fn queue(sender: &SyncSender<(i64, String)>, pending: &AtomicUsize, seq: i64, line: String, failures: &Counter) {
    pending.fetch_add(1, Ordering::AcqRel);
    if let Err(error) = sender.try_send((seq, line)) {
        pending.fetch_sub(1, Ordering::AcqRel);
        failures.inc();
        let why = match error {
            TrySendError::Full(_) => "the time-stamping authority is behind",
            TrySendError::Disconnected(_) => "the time-stamping thread has stopped",
        };
        tracing::error!(seq, "audit checkpoint not time-stamped: {why}");
    }
}

fn nonce() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    u64::from_be_bytes(bytes)
}

async fn fetch(uri: &http::Uri, authority: &str, body: Vec<u8>) -> Result<Vec<u8>, TimestampError> {
    use http_body_util::{BodyExt, Full, Limited};
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(TimestampError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.map_err(TimestampError::Exchange)?;
    tokio::spawn(connection);
    let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/timestamp-query")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(TimestampError::Request)?;
    let response = sender.send_request(request).await.map_err(TimestampError::Exchange)?;
    if !response.status().is_success() {
        return Err(TimestampError::Status(response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_RESPONSE).collect().await.map_err(TimestampError::Answer)?;
    Ok(body.to_bytes().to_vec())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_der_rfc_3161_asks_for() {
        let request = request(&[0xab; 32], 0x8000_0000_0000_0001);
        // SEQUENCE { INTEGER 1, SEQUENCE { AlgId sha256, OCTET STRING }, INTEGER nonce (9 bytes: positive), BOOLEAN TRUE }
        assert_eq!(&request[..5], &[0x30, 0x44, 0x02, 0x01, 0x01]);
        assert_eq!(request.len(), 0x44 + 2);
        assert_eq!(&request[request.len() - 3..], &[0x01, 0x01, 0xff]);
        assert_eq!(&request[request.len() - 14..request.len() - 3], &[0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0x01]);
    }

    #[test]
    fn gen_times_with_and_without_fractions_are_read_and_nothing_else() {
        assert_eq!(generalized_time(b"20261202071406Z").unwrap().to_rfc3339(), "2026-12-02T07:14:06+00:00");
        assert_eq!(generalized_time(b"20261202071406.25Z").unwrap().timestamp_subsec_millis(), 250);
        for bad in [&b"20261202071406"[..], b"2026120207140Z", b"20261202071406.xZ", b"\xff"] {
            assert!(generalized_time(bad).is_err());
        }
    }

    #[test]
    fn a_refusal_or_garbage_gives_no_token() {
        // TimeStampResp { PKIStatusInfo { status 2 (rejection) } }
        assert!(token_from_response(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]).unwrap_err().to_string().contains("refused"));
        assert!(token_from_response(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err().to_string().contains("no token"));
        assert!(token_from_response(b"not DER").is_err());
        assert!(verify_token(b"not DER", &[0; 32], &[]).is_err());
    }
}
