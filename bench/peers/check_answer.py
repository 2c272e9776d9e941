"""Checks a peer's answers against the register before it is benchmarked (bench/peers/run.sh).

    check_answer.py pick REGISTER
        prints the personal code (hyphenated) of a person with at least two active queue
        entries, queue events and applications, taken from the middle of the register.

    check_answer.py ep116 REGISTER PERSON ANSWER.xml   /   check_answer.py ep115 REGISTER PERSON ANSWER.xml
        exits non-zero, saying what differs, unless the answer is a SOAP 1.1 envelope whose
        body is valid against xsd/ and carries the person, and (EP116) exactly the person's
        active queue entries — service kind, provider, queued since, places ahead, queue length,
        in queue order — and as many queue events as the register holds; (EP115) the person's
        applications by number, in order, each with the status its events set and its refusal
        decisions (date, number).

The expectations are computed here with their own SQL, not the peers' queries. Runs with the
venv's Python (lxml, for the schema validation).
"""

import os
import sqlite3
import sys

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"
XSD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "xsd")


def q(name):
    return f"{{{NS}}}{name}"


def connect(register):
    return sqlite3.connect(f"file:{register}?mode=ro", uri=True)


def pick(register):
    conn = connect(register)
    rows = conn.execute(
        """SELECT p.person_code FROM persons p
           WHERE (SELECT count(*) FROM queue_entries e WHERE e.person_id = p.id AND e.active = 1) >= 2
             AND EXISTS (SELECT 1 FROM queue_events v WHERE v.person_id = p.id)
             AND EXISTS (SELECT 1 FROM applications a WHERE a.person_id = p.id)
           ORDER BY p.id"""
    ).fetchall()
    if not rows:
        sys.exit("check_answer: no person in the register waits in two queues")
    code = rows[len(rows) // 2][0]
    print(f"{code[:6]}-{code[6:]}")


def fail(message):
    sys.exit(f"check_answer: FAILED: {message}")


def answer_element(path, element, xsd_file):
    try:
        root = etree.parse(path).getroot()
    except etree.XMLSyntaxError as e:
        fail(f"{path} is not XML: {e}")
    if root.tag != f"{{{SOAP11}}}Envelope":
        fail(f"{path}: the root is {root.tag}, not a SOAP 1.1 Envelope")
    body = root.find(f"{{{SOAP11}}}Body")
    if body is None or len(body) != 1 or body[0].tag != q(element):
        fail(f"{path}: the Body does not hold one {element}: {etree.tostring(root, encoding='unicode')[:600]}")
    answer = body[0]
    schema = etree.XMLSchema(etree.parse(os.path.join(XSD, xsd_file)))
    if not schema.validate(answer):
        fail(f"{path}: {element} is not valid against xsd/{xsd_file}: {schema.error_log}")
    return answer


def text(element, path):
    found = element.find(path, {"s": NS})
    return None if found is None else found.text


def check_person(conn, person, answer):
    digits = person.replace("-", "")
    row = conn.execute("SELECT id, first_name, surname FROM persons WHERE person_code = ?", (digits,)).fetchone()
    if row is None:
        fail(f"{person} is not in the register")
    got = (text(answer, "s:Person/s:PersonCode"), text(answer, "s:Person/s:FirstName"), text(answer, "s:Person/s:Surname"))
    if got != (person, row[1], row[2]):
        fail(f"Person is {got}, the register says {(person, row[1], row[2])}")
    return row[0]


def ep116(register, person, path):
    answer = answer_element(path, "GetQueueStatusListResponse", "GetQueueStatusList.xsd")
    conn = connect(register)
    person_id = check_person(conn, person, answer)
    expected = []
    entries = conn.execute(
        """SELECT e.id, e.provider_id, e.service_kind_id, e.queued_since, sk.code, p.code
           FROM queue_entries e JOIN service_kinds sk ON sk.id = e.service_kind_id
           JOIN providers p ON p.id = e.provider_id
           WHERE e.person_id = ? AND e.active = 1""",
        (person_id,),
    ).fetchall()
    for entry_id, provider_id, kind_id, since, kind_code, provider_code in sorted(entries, key=lambda e: (e[3], e[0])):
        queue = conn.execute(
            "SELECT id, queued_since FROM queue_entries WHERE provider_id = ? AND service_kind_id = ? AND active = 1",
            (provider_id, kind_id),
        ).fetchall()
        ahead = sum(1 for other_id, other_since in queue if (other_since, other_id) < (since, entry_id))
        expected.append((kind_code, provider_code, since, str(ahead), str(len(queue))))
    got = [
        (text(p, "s:ServiceKind/s:Code"), text(p, "s:Provider/s:Code"), text(p, "s:QueuedSince"),
         text(p, "s:PlacesAhead"), text(p, "s:QueueLength"))
        for p in answer.findall("s:QueuePositions/s:QueuePosition", {"s": NS})
    ]
    if got != expected:
        fail(f"EP116 queue positions of {person}:\n  answer:   {got}\n  register: {expected}")
    events = conn.execute("SELECT count(*) FROM queue_events WHERE person_id = ?", (person_id,)).fetchone()[0]
    got_events = len(answer.findall("s:QueueEvents/s:QueueEvent", {"s": NS}))
    if got_events != events:
        fail(f"EP116 of {person}: {got_events} queue events in the answer, {events} in the register")
    print(f"check_answer: EP116 of {person}: {len(got)} queue positions and {events} events as in the register; "
          f"valid against xsd/", file=sys.stderr)


# The status each event kind (1–15) sets, written out here from DOMAIN.md's table rather than
# taken from the service: None leaves the status as it was (2, 3, 4).
STATUS_SET_BY_KIND = {
    1: "in-queue", 2: None, 3: None, 4: None, 5: "granted", 6: "place-offered",
    7: "offer-declined", 8: "in-queue", 9: "in-queue", 10: "granted", 11: "in-queue",
    12: "granted", 13: "granted", 14: "refused", 15: "documents-requested",
}


def expected_status(conn, application_id):
    status = "submitted"
    for (kind,) in conn.execute(
            "SELECT kind FROM queue_events WHERE application_id = ? ORDER BY event_date, id", (application_id,)):
        status = STATUS_SET_BY_KIND[kind] or status
    return status


def ep115(register, person, path):
    answer = answer_element(path, "GetApplicationListResponse", "GetApplicationList.xsd")
    conn = connect(register)
    person_id = check_person(conn, person, answer)
    expected = []
    for application_id, number in conn.execute(
            "SELECT id, application_number FROM applications WHERE person_id = ? ORDER BY submitted_on, application_number",
            (person_id,)).fetchall():
        refusals = [tuple(r) for r in conn.execute(
            "SELECT decided_on, document_number FROM refusal_decisions WHERE application_id = ? ORDER BY decided_on, id",
            (application_id,))]
        expected.append((number, expected_status(conn, application_id), refusals))
    got = [
        (text(a, "s:ApplicationNumber"), text(a, "s:Status/s:Code"),
         [(text(d, "s:DecisionDate"), text(d, "s:DocumentNumber"))
          for d in a.findall("s:RefusalDecisions/s:RefusalDecision", {"s": NS})])
        for a in answer.findall("s:Applications/s:Application", {"s": NS})
    ]
    if got != expected:
        fail(f"EP115 applications of {person}:\n  answer:   {got}\n  register: {expected}")
    print(f"check_answer: EP115 of {person}: applications {[g[0] for g in got]} with their statuses and refusals "
          f"as in the register; valid against xsd/", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "pick":
        pick(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] in ("ep115", "ep116"):
        {"ep115": ep115, "ep116": ep116}[sys.argv[1]](*sys.argv[2:])
    else:
        sys.exit(__doc__)
