//! The client certificate verifier rustls calls during the handshake: WebPKI with the CRLs
//! in force (see `revocation`), then the keyUsage check WebPKI does not make.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::revocation::Revocation;

/// The client certificate verifier rustls calls: the one built with the CRLs in force,
/// after looking at the CRL files.
#[derive(Debug)]
pub(super) struct Verifier(pub(super) Arc<Revocation>);

impl ClientCertVerifier for Verifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.0.hints
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        self.0.poll();
        self.0.snapshot().verify(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.snapshot().webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.snapshot().webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.snapshot().webpki.supported_verify_schemes()
    }
}

/// RFC 5280 4.2.1.3: a keyUsage without digitalSignature forbids the key to sign, and
/// authenticating a TLS handshake (CertificateVerify) is signing. Absent, any use is allowed.
pub(super) fn check_key_usage(end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) else {
        return Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding));
    };
    match certificate.key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(usage)) if usage.value.digital_signature() => Ok(()),
        Ok(Some(_)) => {
            tracing::info!("client certificate refused: its keyUsage does not allow digitalSignature");
            Err(rustls::Error::InvalidCertificate(CertificateError::InvalidPurpose))
        }
        Err(_) => Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding)),
    }
}
