#!/usr/bin/env bash
# Writes the seed corpora: every sample request for `envelope`, and requests signed with riga's
# example key by xmlsec1 (SOAP 1.1 and 1.2, WCF layout) for `signature`. Needs xmlsec1.
set -euo pipefail
cd "$(dirname "$0")"
repo=..
mkdir -p corpus/envelope corpus/signature
cp "$repo"/wsdl/samples/*.xml corpus/envelope/
cp "$repo"/wsdl/samples/*.xml corpus/signature/
wsu=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
for soap in http://schemas.xmlsoap.org/soap/envelope/ http://www.w3.org/2003/05/soap-envelope; do
  name=$( [[ $soap == *2003* ]] && echo soap12 || echo soap11 )
  reference() {
    echo "<ds:Reference URI=\"$1\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference>"
  }
  cat > /tmp/spolis-seed-template.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="$soap" xmlns:u="$wsu">
  <s:Header>
    <o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <u:Timestamp u:Id="_0"><u:Created>2026-11-23T12:00:00.000Z</u:Created><u:Expires>2026-11-23T12:05:00.000Z</u:Expires></u:Timestamp>
      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
          <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
          $(reference "#_0")
          $(reference "#_1")
        </ds:SignedInfo>
        <ds:SignatureValue/>
        <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
      </ds:Signature>
    </o:Security>
  </s:Header>
  <s:Body u:Id="_1">
    <q:GetQueueStatusList xmlns:q="http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"><q:PersonCode>150342-10121</q:PersonCode><q:Purpose><q:LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</q:LegalBasis></q:Purpose><q:Operator><q:FirstName>Anna</q:FirstName><q:Surname>Liepiņa</q:Surname><q:PersonCode>120379-10015</q:PersonCode></q:Operator></q:GetQueueStatusList>
  </s:Body>
</s:Envelope>
XML
  xmlsec1 --sign --privkey-pem "$repo/certs-example/riga.key,$repo/certs-example/riga.crt" \
    --id-attr:Id "$soap:Body" --id-attr:Id "$wsu:Timestamp" \
    --output "corpus/signature/signed-$name.xml" /tmp/spolis-seed-template.xml
  cp "corpus/signature/signed-$name.xml" corpus/envelope/
done
rm -f /tmp/spolis-seed-template.xml
# `request`: the operation elements alone, with and without a period and an as-of day.
mkdir -p corpus/request corpus/certificate_name
spolis='xmlns="http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"'
purpose='<Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis><CaseNumber>SD-2026/1417</CaseNumber></Purpose>'
operator='<Operator><FirstName>Anna</FirstName><Surname>Liepiņa</Surname><PersonCode>120379-10015</PersonCode></Operator>'
for operation in GetApplicationList GetQueueStatusList; do
  echo "<$operation $spolis><PersonCode>150342-10121</PersonCode>$purpose$operator</$operation>" > "corpus/request/$operation.xml"
  echo "<$operation $spolis><PersonCode>320417-28315</PersonCode><Period><From>2024-01-01</From><Till>2025-12-31+02:00</Till></Period><AsOf>2025-06-30</AsOf>$purpose$operator</$operation>" > "corpus/request/$operation-period.xml"
done
# `certificate_name`: every example certificate as DER, and the issuer as the registry writes it.
for crt in "$repo"/certs-example/*.crt; do
  openssl x509 -in "$crt" -outform DER -out "corpus/certificate_name/$(basename "$crt" .crt).der"
done
printf '%s' 'C=LV, O=Labklājības ministrija (example), CN=SPOLIS adapter EXAMPLE CA — not for production' > corpus/certificate_name/issuer.txt
printf '%s' 'CN=a\,b+O=\23x, 2.5.4.3=#0c0161' > corpus/certificate_name/escaped.txt
echo "seeds: $(ls corpus/envelope | wc -l) envelope, $(ls corpus/signature | wc -l) signature, $(ls corpus/request | wc -l) request, $(ls corpus/certificate_name | wc -l) certificate_name"
