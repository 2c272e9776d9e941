#!/usr/bin/env bash
# Validates the published contract and its samples with xmllint:
#   - every xsd/*.xsd compiles and every wsdl/*.wsdl is well-formed XML;
#   - every sample (wsdl/samples/*.xml, wsdl/samples/answers-example/*.xml, or the files
#     given as arguments) is UTF-8 with an XML declaration, and its payload validates:
#     the element inside the SOAP Body (or the file's root element when it is a bare
#     payload; the spolis:ServiceError detail when the Body holds a Fault) against the
#     schema of its namespace and name. For an IVISRequest / IVISResponse the envelope is
#     validated against xsd/IVIS.xsd and the element inside ivis:Body against the service
#     schema, and the header's MessageType (and a request's Destination) must name it.
# Exits non-zero when anything fails. Needs python3 and xmllint (Debian: libxml2-utils).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v xmllint >/dev/null 2>&1; then
  echo "validate.sh: xmllint not found (apt-get install -y libxml2-utils)" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "validate.sh: python3 not found" >&2
  exit 2
fi

exec python3 - "$root" "$@" <<'PY'
import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

root = sys.argv[1]
files = sys.argv[2:] or sorted(
    glob.glob(os.path.join(root, "wsdl/samples/*.xml"))
    + glob.glob(os.path.join(root, "wsdl/samples/answers-example/*.xml")))

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SPOLIS = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"
IVIS = "http://ivis.eps.gov.lv/XMLSchemas/100001/IVIS/v1-0"
TYPE_URN = "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-"
SERVICE_URN = "URN:IVIS:100001:ISS-LM-{}-v1-0"

# (namespace, local name) of a payload root -> the schema that declares it.
SCHEMA = {
    (SPOLIS, "GetApplicationList"): "xsd/GetApplicationList.xsd",
    (SPOLIS, "GetApplicationListResponse"): "xsd/GetApplicationList.xsd",
    (SPOLIS, "GetQueueStatusList"): "xsd/GetQueueStatusList.xsd",
    (SPOLIS, "GetQueueStatusListResponse"): "xsd/GetQueueStatusList.xsd",
    (SPOLIS, "GetQueueStatistics"): "xsd/GetQueueStatistics.xsd",
    (SPOLIS, "GetQueueStatisticsResponse"): "xsd/GetQueueStatistics.xsd",
    (SPOLIS, "ServiceError"): "xsd/SpolisCommon.xsd",
    (IVIS, "IVISRequest"): "xsd/IVIS.xsd",
    (IVIS, "IVISResponse"): "xsd/IVIS.xsd",
}
# The operation a request or answer belongs to (for the IVIS Destination check).
OPERATION = {
    "GetApplicationList": "GetApplicationList",
    "GetApplicationListResponse": "GetApplicationList",
    "GetQueueStatusList": "GetQueueStatusList",
    "GetQueueStatusListResponse": "GetQueueStatusList",
    "GetQueueStatistics": "GetQueueStatistics",
    "GetQueueStatisticsResponse": "GetQueueStatistics",
}

passed = failed = 0
tmp = tempfile.mkdtemp(prefix="spolis-validate-")
atexit.register(shutil.rmtree, tmp, ignore_errors=True)


def split(tag):
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
        for line in detail.rstrip().splitlines():
            print(f"       {line}")


def elements(parent):
    return [c for c in parent if isinstance(c.tag, str)]


def xmllint(schema, path):
    return subprocess.run(
        ["xmllint", "--noout", "--nonet", "--schema", os.path.join(root, schema), path],
        capture_output=True, text=True)


def validate(elem, label):
    """Validates one payload element against the schema of its name, then its IVIS body."""
    ns, local = split(elem.tag)
    schema = SCHEMA.get((ns, local))
    if schema is None:
        report(False, f"{label}: {{{ns}}}{local}", "no schema declares this element")
        return
    # Named after the sample; xmllint's line numbers are those of the extracted payload.
    path = os.path.join(tmp, "".join(c if c.isalnum() or c in "-." else "_" for c in label) + ".payload.xml")
    ET.ElementTree(elem).write(path, encoding="UTF-8", xml_declaration=True)
    r = xmllint(schema, path)
    report(r.returncode == 0, f"{label}: {local} against {schema}", r.stderr)
    if ns == IVIS and r.returncode == 0:
        validate_ivis(elem, local, label)


def validate_ivis(elem, local, label):
    header = elem.find(f"{{{IVIS}}}Header")
    body = elem.find(f"{{{IVIS}}}Body")
    if body is None:  # IVISResponse with ErrorList: nothing inside to validate
        return
    inner = elements(body)[0]
    inner_ns, inner_local = split(inner.tag)
    problems = []
    message_type = header.findtext(f"{{{IVIS}}}MessageType")
    if message_type != TYPE_URN + inner_local:
        problems.append(f"MessageType {message_type} does not name the body element {inner_local}")
    if local == "IVISRequest":
        destination = header.findtext(f"{{{IVIS}}}Destination")
        op = OPERATION.get(inner_local)
        if op is None or inner_local != op:
            problems.append(f"the body of an IVISRequest must be a request, not {inner_local}")
        elif destination != SERVICE_URN.format(op):
            problems.append(f"Destination {destination} is not the service of {inner_local}")
    report(not problems, f"{label}: IVIS header names {inner_local}", "\n".join(problems))
    validate(inner, f"{label}/{inner_local}")


# 1. The schemas compile and the WSDLs are well-formed.
empty = os.path.join(tmp, "empty.xml")
with open(empty, "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<empty/>\n')
for xsd in sorted(glob.glob(os.path.join(root, "xsd/*.xsd"))):
    r = xmllint(os.path.relpath(xsd, root), empty)
    # exit 3/4: the dummy document is not valid (expected); 5: the schema did not compile.
    report(r.returncode != 5, f"{os.path.relpath(xsd, root)} compiles", r.stderr)
for wsdl in sorted(glob.glob(os.path.join(root, "wsdl/*.wsdl"))):
    r = subprocess.run(["xmllint", "--noout", "--nonet", wsdl], capture_output=True, text=True)
    report(r.returncode == 0, f"{os.path.relpath(wsdl, root)} is well-formed", r.stderr)

# 2. The samples.
for path in files:
    name = os.path.relpath(os.path.abspath(path), os.path.join(root, "wsdl/samples"))
    if name.startswith(".."):
        name = path
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
        report(False, f"{name}: XML declaration", 'must start with <?xml version="1.0" encoding="UTF-8"?>')
        continue
    try:
        doc = ET.parse(path).getroot()
    except ET.ParseError as e:
        report(False, f"{name}: well-formed", str(e))
        continue
    ns, local = split(doc.tag)
    if local == "Envelope" and ns in (SOAP11, SOAP12):
        version = "soap11" if ns == SOAP11 else "soap12"
        other = "soap12" if ns == SOAP11 else "soap11"
        if other in os.path.basename(name):
            report(False, f"{name}: envelope version", f"file name says {other}, envelope is {version}")
            continue
        body = doc.find(f"{{{ns}}}Body")
        payload = elements(body) if body is not None else []
        if len(payload) != 1:
            report(False, f"{name}: SOAP Body", f"expected one element in the Body, found {len(payload)}")
            continue
        if split(payload[0].tag) == (ns, "Fault"):
            details = payload[0].findall(f".//{{{SPOLIS}}}ServiceError")
            if len(details) != 1:
                report(False, f"{name}: Fault detail", "expected one spolis:ServiceError in the Fault")
                continue
            payload = details
        validate(payload[0], name)
    else:
        validate(doc, name)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
