"""A benchmark peer: EP115 GetApplicationList and EP116 GetQueueStatusList in spyne.

What an integrator would otherwise assemble in Python: spyne's SOAP 1.1 document/literal
(wrapped) services with the element names and the namespace of our xsd/, reading the same
SQLite register (same SQL as src/store/sqlite.rs) with the standard sqlite3 module, served as
a WSGI application by gunicorn, which does the mutual TLS (see ../run.sh for the command line
and ../README.md for what it does and does not do compared with spolis-adapter).

    SPOLIS_REGISTER=/path/spolis.sqlite3 gunicorn --chdir bench/peers/spyne server:application ...

Paths: POST /GetApplicationList (EP115), POST /GetQueueStatusList (EP116); ?wsdl on each.
"""

import os
import sqlite3
import threading
from datetime import date

from spyne import Application, ComplexModel, Date, Integer, Unicode, UnsignedInteger, rpc
from spyne.error import Fault
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from spyne.service import ServiceBase
from spyne.util.wsgi_wrapper import WsgiMounter

NS = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"

# ---------------------------------------------------------------------------------------
# Types: xsd/SpolisCommon.xsd, xsd/GetQueueStatusList.xsd, xsd/GetApplicationList.xsd.

PersonCodeType = Unicode(pattern=r"[0-9]{6}-?[0-9]{5}", type_name="PersonCodeType", __namespace__=NS)
NameType = Unicode(min_len=1, max_len=100, type_name="NameType", __namespace__=NS)
CodeType = Unicode(min_len=1, max_len=20, type_name="CodeType", __namespace__=NS)
TextType = Unicode(min_len=1, max_len=500, type_name="TextType", __namespace__=NS)
DocumentNumberType = Unicode(min_len=1, max_len=50, type_name="DocumentNumberType", __namespace__=NS)
PhoneType = Unicode(min_len=1, max_len=50, type_name="PhoneType", __namespace__=NS)
EmailType = Unicode(max_len=254, pattern=r"[^@\s]+@[^@\s]+", type_name="EmailType", __namespace__=NS)
QueueEventKindCodeType = Integer(ge=1, le=15, type_name="QueueEventKindCodeType", __namespace__=NS)

REQUIRED = dict(min_occurs=1, nillable=False)
OPTIONAL = dict(min_occurs=0, nillable=False)


def req(t):
    return t.customize(**REQUIRED)


def opt(t):
    return t.customize(**OPTIONAL)


def many(t):
    return t.customize(min_occurs=0, max_occurs="unbounded", nillable=False)


class Base(ComplexModel):
    __namespace__ = NS


class PeriodStructure(Base):
    _type_info = [("From", opt(Date)), ("Till", opt(Date))]


class PurposeStructure(Base):
    _type_info = [("LegalBasis", req(Unicode(min_len=1, max_len=500))), ("CaseNumber", opt(Unicode(min_len=1, max_len=50)))]


class OperatorStructure(Base):
    _type_info = [("FirstName", req(NameType)), ("Surname", req(NameType)), ("PersonCode", req(PersonCodeType))]


class PersonStructure(Base):
    _type_info = [("PersonCode", req(PersonCodeType)), ("FirstName", req(NameType)), ("Surname", req(NameType))]


class ClassifierStructure(Base):
    _type_info = [("Code", req(CodeType)), ("Name", req(TextType))]


class ProviderStructure(Base):
    _type_info = [("Code", req(CodeType)), ("Name", req(TextType))]


class ContactsStructure(Base):
    _type_info = [("Phone", opt(PhoneType)), ("Email", opt(EmailType))]


# EP116
class QueueEventKindStructure(Base):
    _type_info = [("Code", req(QueueEventKindCodeType)), ("Name", req(TextType))]


class OfferedPlaceStructure(Base):
    _type_info = [("Provider", req(ProviderStructure)), ("Address", req(TextType))]


class QueueEventStructure(Base):
    _type_info = [
        ("EventKind", req(QueueEventKindStructure)),
        ("EventDate", req(Date)),
        ("DecisionNumber", opt(DocumentNumberType)),
        ("ServiceKind", req(ClassifierStructure)),
        ("PreferredProvider", opt(ProviderStructure)),
        ("OfferedPlace", opt(OfferedPlaceStructure)),
        ("GrantDate", opt(Date)),
        ("ApplicationNumber", opt(DocumentNumberType)),
    ]


class QueueEventListStructure(Base):
    _type_info = [("QueueEvent", many(QueueEventStructure))]


class QueuePositionStructure(Base):
    _type_info = [
        ("ServiceKind", req(ClassifierStructure)),
        ("Provider", req(ProviderStructure)),
        ("QueuedSince", req(Date)),
        ("PlacesAhead", req(UnsignedInteger)),
        ("QueueLength", req(UnsignedInteger)),
    ]


class QueuePositionListStructure(Base):
    _type_info = [("QueuePosition", many(QueuePositionStructure))]


# EP115
class LegalRepresentativeStructure(Base):
    _type_info = [
        ("FirstName", req(NameType)),
        ("Surname", req(NameType)),
        ("PersonCode", opt(PersonCodeType)),
        ("Address", opt(TextType)),
        ("Contacts", opt(ContactsStructure)),
    ]


class MunicipalityStructure(Base):
    _type_info = [
        ("Code", req(CodeType)),
        ("Name", req(TextType)),
        ("Address", req(TextType)),
        ("Contacts", opt(ContactsStructure)),
    ]


class SubmittedDocumentStructure(Base):
    _type_info = [("Title", req(TextType)), ("SubmissionDate", req(Date))]


class SubmittedDocumentListStructure(Base):
    _type_info = [("Document", many(SubmittedDocumentStructure))]


class DocumentRequestStructure(Base):
    _type_info = [
        ("RequestDate", req(Date)),
        ("Description", req(TextType)),
        ("DueDate", opt(Date)),
        ("FulfilledDate", opt(Date)),
    ]


class DocumentRequestListStructure(Base):
    _type_info = [("DocumentRequest", many(DocumentRequestStructure))]


class GrantDecisionStructure(Base):
    _type_info = [
        ("DecisionDate", req(Date)),
        ("DocumentNumber", req(DocumentNumberType)),
        ("Provider", req(ProviderStructure)),
        ("GrantedFrom", req(Date)),
    ]


class GrantDecisionListStructure(Base):
    _type_info = [("GrantDecision", many(GrantDecisionStructure))]


class ApplicationStatusStructure(Base):
    _type_info = [("Code", req(TextType)), ("Name", req(TextType))]


class RefusalDecisionStructure(Base):
    _type_info = [("DecisionDate", req(Date)), ("DocumentNumber", req(DocumentNumberType)), ("Reason", req(TextType))]


class RefusalDecisionListStructure(Base):
    _type_info = [("RefusalDecision", many(RefusalDecisionStructure))]


class QueueDecisionStructure(Base):
    _type_info = [
        ("DecisionDate", req(Date)),
        ("DocumentNumber", req(DocumentNumberType)),
        ("Provider", req(ProviderStructure)),
        ("QueuedFrom", req(Date)),
    ]


class QueueDecisionListStructure(Base):
    _type_info = [("QueueDecision", many(QueueDecisionStructure))]


class ApplicationStructure(Base):
    _type_info = [
        ("ApplicationNumber", req(DocumentNumberType)),
        ("SubmissionDate", req(Date)),
        ("ApplicationKind", req(TextType)),
        ("Status", req(ApplicationStatusStructure)),
        ("ServiceKind", req(ClassifierStructure)),
        ("PreferredProvider", opt(ProviderStructure)),
        ("Applicant", req(PersonStructure)),
        ("LegalRepresentative", opt(LegalRepresentativeStructure)),
        ("Municipality", req(MunicipalityStructure)),
        ("SubmittedDocuments", req(SubmittedDocumentListStructure)),
        ("DocumentRequests", req(DocumentRequestListStructure)),
        ("GrantDecisions", req(GrantDecisionListStructure)),
        ("QueueDecisions", req(QueueDecisionListStructure)),
        ("RefusalDecisions", req(RefusalDecisionListStructure)),
    ]


class ApplicationListStructure(Base):
    _type_info = [("Application", many(ApplicationStructure))]


# ---------------------------------------------------------------------------------------
# The register: the SQL of src/store/sqlite.rs, one read-only connection per thread.

SQL_PERSON = "SELECT id, person_code, first_name, surname FROM persons WHERE person_code = ?1"
SQL_SERVICE_KIND_ID = "SELECT id FROM service_kinds WHERE code = ?1"
SQL_PROVIDER_ID = "SELECT id FROM providers WHERE code = ?1"

SQL_APPLICATIONS = """
SELECT a.id, a.application_number, a.submitted_on, a.application_kind,
       sk.code, sk.name, pp.code, pp.name,
       m.code, m.name, m.address, m.phone, m.email,
       r.first_name, r.surname, r.person_code, r.address, r.phone, r.email
FROM applications a
JOIN service_kinds sk ON sk.id = a.service_kind_id
LEFT JOIN providers pp ON pp.id = a.preferred_provider_id
JOIN municipalities m ON m.id = a.municipality_id
LEFT JOIN legal_representatives r ON r.id = a.legal_representative_id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY a.submitted_on, a.application_number"""

SQL_DOCUMENTS = """
SELECT d.application_id, d.title, d.submitted_on
FROM applications a JOIN submitted_documents d ON d.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.submitted_on, d.id"""

SQL_DOCUMENT_REQUESTS = """
SELECT q.application_id, q.requested_on, q.description, q.due_on, q.fulfilled_on
FROM applications a JOIN document_requests q ON q.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY q.requested_on, q.id"""

SQL_GRANT_DECISIONS = """
SELECT g.application_id, g.decided_on, g.document_number, p.code, p.name, g.granted_from
FROM applications a JOIN grant_decisions g ON g.application_id = a.id
JOIN providers p ON p.id = g.provider_id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY g.decided_on, g.id"""

SQL_QUEUE_DECISIONS = """
SELECT d.application_id, d.decided_on, d.document_number, p.code, p.name, d.queued_from
FROM applications a JOIN queue_decisions d ON d.application_id = a.id
JOIN providers p ON p.id = d.provider_id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.decided_on, d.id"""

SQL_REFUSAL_DECISIONS = """
SELECT d.application_id, d.decided_on, d.document_number, d.reason
FROM applications a JOIN refusal_decisions d ON d.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.decided_on, d.id"""

SQL_APPLICATION_EVENTS = """
SELECT e.application_id, e.kind
FROM queue_events e JOIN applications a ON a.id = e.application_id
WHERE e.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY e.event_date, e.id"""

# An application's status: that set by its latest event of a status-setting kind
# (the contract's ApplicationStatusCodeType; kinds 2, 3 and 4 set none).
STATUS_OF_KIND = {
    15: ("documents-requested", "Pieprasīti dokumenti"),
    1: ("in-queue", "Uzņemts rindā"), 8: ("in-queue", "Uzņemts rindā"),
    9: ("in-queue", "Uzņemts rindā"), 11: ("in-queue", "Uzņemts rindā"),
    6: ("place-offered", "Piedāvāta brīvā vieta"),
    7: ("offer-declined", "Atteicies no piedāvātās vietas"),
    5: ("granted", "Pakalpojums piešķirts"), 10: ("granted", "Pakalpojums piešķirts"),
    12: ("granted", "Pakalpojums piešķirts"), 13: ("granted", "Pakalpojums piešķirts"),
    14: ("refused", "Pakalpojums atteikts"),
}
SUBMITTED = ("submitted", "Iesniegums saņemts")

SQL_QUEUE_EVENTS = """
SELECT e.kind, e.event_date, e.decision_number, sk.code, sk.name,
       pp.code, pp.name, op.code, op.name, coalesce(e.offered_address, op.address),
       e.granted_on, a.application_number
FROM queue_events e
JOIN service_kinds sk ON sk.id = e.service_kind_id
LEFT JOIN providers pp ON pp.id = e.preferred_provider_id
LEFT JOIN providers op ON op.id = e.offered_provider_id
LEFT JOIN applications a ON a.id = e.application_id
WHERE e.person_id = ?1 AND e.event_date BETWEEN ?2 AND ?3
  AND (?4 IS NULL OR e.service_kind_id = ?4)
  AND (?5 IS NULL OR e.preferred_provider_id = ?5 OR e.offered_provider_id = ?5)
ORDER BY e.event_date, e.id"""

SQL_QUEUE_POSITIONS = """
SELECT sk.code, sk.name, p.code, p.name, e.queued_since,
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = 1 AND (o.queued_since, o.id) < (e.queued_since, e.id)),
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active = 1)
FROM queue_entries e
JOIN service_kinds sk ON sk.id = e.service_kind_id
JOIN providers p ON p.id = e.provider_id
WHERE e.person_id = ?1 AND e.active = 1
  AND (?2 IS NULL OR e.service_kind_id = ?2)
  AND (?3 IS NULL OR e.provider_id = ?3)
ORDER BY e.queued_since, e.id"""

# The 15 queue event kinds and their Latvian labels (src/model.rs QueueEventKind::label).
EVENT_KINDS = {
    1: "lēmums par uzņemšanu rindā",
    2: "pieprasījums dokumentu atjaunošanai",
    3: "dokumenti atjaunoti",
    4: "iesniegums iestādes maiņai",
    5: "lēmums par pakalpojumu piešķiršanu",
    6: "piedāvāta brīvā vieta",
    7: "atsakās no konkrētās iestādes",
    8: "lēmums par personas atjaunošanu rindā",
    9: "lēmums par uzņemšanu rindā pakalpojumu sniedzēju maiņai",
    10: "lēmums par pakalpojumu sniedzēju maiņu",
    11: "lēmums par uzņemšanu rindā pakalpojumu veida maiņai",
    12: "lēmumi par pusceļa mājas piešķiršanu",
    13: "lēmums par pakalpojuma veida maiņu",
    14: "lēmums par atteikumu",
    15: "vēstule par iesnieguma izskatīšanu un dokumentu pieprasīšanu",
}

REGISTER = os.environ.get("SPOLIS_REGISTER", "spolis.sqlite3")
_local = threading.local()


def connection():
    """This thread's read-only connection to the register (as src/store/sqlite.rs opens its
    readers: query_only, memory-mapped)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(f"file:{REGISTER}?mode=ro", uri=True, isolation_level=None, cached_statements=64)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA mmap_size = 2147418112")
        _local.conn = conn
    return conn


def digits(code):
    return code.replace("-", "")


def hyphenated(code):
    return f"{code[:6]}-{code[6:]}"


def period_bounds(period):
    start, end = "0000-01-01", "9999-12-31"
    if period is not None:
        if period.From is not None:
            start = period.From.isoformat()
        if period.Till is not None:
            end = period.Till.isoformat()
    if start > end:
        raise Fault("Client.InvalidPeriod", "the period's From is after its Till")
    return start, end


def day(text):
    return None if text is None else date.fromisoformat(text)


def provider(code, name):
    return None if code is None else ProviderStructure(Code=code, Name=name)


def contacts(phone, email):
    return None if phone is None and email is None else ContactsStructure(Phone=phone, Email=email)


def find_person(conn, code):
    row = conn.execute(SQL_PERSON, (digits(code),)).fetchone()
    if row is None:
        return None, None
    return row[0], PersonStructure(PersonCode=hyphenated(row[1]), FirstName=row[2], Surname=row[3])


def queue_status_list(person_code, period, service_kind_code, provider_code):
    start, end = period_bounds(period)
    conn = connection()
    conn.execute("BEGIN")  # one read transaction: a consistent snapshot, as ours
    try:
        person_id, person = find_person(conn, person_code)
        events, positions = [], []
        if person_id is not None:
            narrowing = []
            for sql, code in ((SQL_SERVICE_KIND_ID, service_kind_code), (SQL_PROVIDER_ID, provider_code)):
                if code is None:
                    narrowing.append(None)
                else:
                    row = conn.execute(sql, (code,)).fetchone()
                    narrowing.append(row[0] if row else False)  # False: a code the register does not know
            if False not in narrowing:
                sk, pr = narrowing
                for r in conn.execute(SQL_QUEUE_EVENTS, (person_id, start, end, sk, pr)):
                    offered = provider(r[7], r[8])
                    events.append(QueueEventStructure(
                        EventKind=QueueEventKindStructure(Code=r[0], Name=EVENT_KINDS[r[0]]),
                        EventDate=day(r[1]),
                        DecisionNumber=r[2],
                        ServiceKind=ClassifierStructure(Code=r[3], Name=r[4]),
                        PreferredProvider=provider(r[5], r[6]),
                        OfferedPlace=None if offered is None else OfferedPlaceStructure(Provider=offered, Address=r[9] or ""),
                        GrantDate=day(r[10]),
                        ApplicationNumber=r[11],
                    ))
                for r in conn.execute(SQL_QUEUE_POSITIONS, (person_id, sk, pr)):
                    positions.append(QueuePositionStructure(
                        ServiceKind=ClassifierStructure(Code=r[0], Name=r[1]),
                        Provider=ProviderStructure(Code=r[2], Name=r[3]),
                        QueuedSince=day(r[4]),
                        PlacesAhead=r[5],
                        QueueLength=r[6],
                    ))
    finally:
        conn.execute("COMMIT")
    return person, QueueEventListStructure(QueueEvent=events), QueuePositionListStructure(QueuePosition=positions)


def application_list(person_code, period):
    start, end = period_bounds(period)
    conn = connection()
    conn.execute("BEGIN")
    try:
        person_id, person = find_person(conn, person_code)
        applications, by_id = [], {}
        if person_id is not None:
            params = (person_id, start, end)
            for r in conn.execute(SQL_APPLICATIONS, params):
                representative = None
                if r[13] is not None:
                    representative = LegalRepresentativeStructure(
                        FirstName=r[13], Surname=r[14],
                        PersonCode=None if r[15] is None else hyphenated(r[15]),
                        Address=r[16], Contacts=contacts(r[17], r[18]),
                    )
                application = ApplicationStructure(
                    ApplicationNumber=r[1],
                    SubmissionDate=day(r[2]),
                    ApplicationKind=r[3],
                    Status=ApplicationStatusStructure(Code=SUBMITTED[0], Name=SUBMITTED[1]),
                    ServiceKind=ClassifierStructure(Code=r[4], Name=r[5]),
                    PreferredProvider=provider(r[6], r[7]),
                    Applicant=person,
                    LegalRepresentative=representative,
                    Municipality=MunicipalityStructure(Code=r[8], Name=r[9], Address=r[10], Contacts=contacts(r[11], r[12])),
                    SubmittedDocuments=SubmittedDocumentListStructure(Document=[]),
                    DocumentRequests=DocumentRequestListStructure(DocumentRequest=[]),
                    GrantDecisions=GrantDecisionListStructure(GrantDecision=[]),
                    QueueDecisions=QueueDecisionListStructure(QueueDecision=[]),
                    RefusalDecisions=RefusalDecisionListStructure(RefusalDecision=[]),
                )
                by_id[r[0]] = application
                applications.append(application)
            if applications:
                for r in conn.execute(SQL_DOCUMENTS, params):
                    by_id[r[0]].SubmittedDocuments.Document.append(
                        SubmittedDocumentStructure(Title=r[1], SubmissionDate=day(r[2])))
                for r in conn.execute(SQL_DOCUMENT_REQUESTS, params):
                    by_id[r[0]].DocumentRequests.DocumentRequest.append(
                        DocumentRequestStructure(RequestDate=day(r[1]), Description=r[2], DueDate=day(r[3]), FulfilledDate=day(r[4])))
                for r in conn.execute(SQL_GRANT_DECISIONS, params):
                    by_id[r[0]].GrantDecisions.GrantDecision.append(GrantDecisionStructure(
                        DecisionDate=day(r[1]), DocumentNumber=r[2], Provider=ProviderStructure(Code=r[3], Name=r[4]), GrantedFrom=day(r[5])))
                for r in conn.execute(SQL_QUEUE_DECISIONS, params):
                    by_id[r[0]].QueueDecisions.QueueDecision.append(QueueDecisionStructure(
                        DecisionDate=day(r[1]), DocumentNumber=r[2], Provider=ProviderStructure(Code=r[3], Name=r[4]), QueuedFrom=day(r[5])))
                for r in conn.execute(SQL_REFUSAL_DECISIONS, params):
                    by_id[r[0]].RefusalDecisions.RefusalDecision.append(RefusalDecisionStructure(
                        DecisionDate=day(r[1]), DocumentNumber=r[2], Reason=r[3]))
                for r in conn.execute(SQL_APPLICATION_EVENTS, params):
                    if r[1] in STATUS_OF_KIND:
                        code, name = STATUS_OF_KIND[r[1]]
                        by_id[r[0]].Status = ApplicationStatusStructure(Code=code, Name=name)
    finally:
        conn.execute("COMMIT")
    return person, ApplicationListStructure(Application=applications)


# ---------------------------------------------------------------------------------------
# The services. Wrapped document/literal: the request element is the method name in NS,
# its children the arguments; the answer element <Method>Response, its children the
# out-variables, in the order of our XSD.

class QueueStatusService(ServiceBase):
    @rpc(req(PersonCodeType), opt(PeriodStructure), opt(Date), opt(CodeType), opt(CodeType), req(PurposeStructure),
         req(OperatorStructure),
         _in_arg_names={"person_code": "PersonCode", "period": "Period", "as_of": "AsOf", "service_kind_code": "ServiceKindCode",
                        "provider_code": "ProviderCode", "purpose": "Purpose", "operator": "Operator"},
         _returns=(opt(PersonStructure), req(QueueEventListStructure), req(QueuePositionListStructure)),
         _out_variable_names=("Person", "QueueEvents", "QueuePositions"),
         _operation_name="GetQueueStatusList", _out_message_name="GetQueueStatusListResponse")
    def get_queue_status_list(ctx, person_code, period, as_of, service_kind_code, provider_code, purpose, operator):
        # The benchmark asks for the current state only; AsOf is accepted, not honoured.
        return queue_status_list(person_code, period, service_kind_code, provider_code)


class ApplicationListService(ServiceBase):
    @rpc(req(PersonCodeType), opt(PeriodStructure), opt(Date), req(PurposeStructure), req(OperatorStructure),
         _in_arg_names={"person_code": "PersonCode", "period": "Period", "as_of": "AsOf", "purpose": "Purpose",
                        "operator": "Operator"},
         _returns=(opt(PersonStructure), req(ApplicationListStructure)),
         _out_variable_names=("Person", "Applications"),
         _operation_name="GetApplicationList", _out_message_name="GetApplicationListResponse")
    def get_application_list(ctx, person_code, period, as_of, purpose, operator):
        return application_list(person_code, period)


def make_application(service, name):
    app = Application([service], tns=NS, name=name,
                      in_protocol=Soap11(validator="soft"), out_protocol=Soap11())
    return WsgiApplication(app)


application = WsgiMounter({
    "GetQueueStatusList": make_application(QueueStatusService, "GetQueueStatusList"),
    "GetApplicationList": make_application(ApplicationListService, "GetApplicationList"),
})
