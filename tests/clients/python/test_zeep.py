"""Python zeep against the RUNNING spolis-adapter: an independent, WSDL-driven client.

Input: SPOLIS_URL (e.g. https://localhost:8443) of a demo server, and the example
certificates (SPOLIS_CERTS, default certs-example/ beside the repository root).
zeep reads each service's WSDL from `<url>/<Path>?wsdl` over mutual TLS and calls both
operations (plain and IVIS) on both ports (SOAP 1.1 and 1.2), checking the demo data come
back. It never talks to anything but that URL.
"""

import datetime
import os
import pathlib
import uuid

import pytest
from requests import Session
from zeep import Client, xsd
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

REPO = pathlib.Path(__file__).resolve().parents[3]
CERTS = pathlib.Path(os.environ.get("SPOLIS_CERTS", REPO / "certs-example"))
URL = os.environ.get("SPOLIS_URL", "https://localhost:8443").rstrip("/")
SPOLIS = "http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0"

OPERATOR = {"FirstName": "Anna", "Surname": "Liepiņa", "PersonCode": "120379-10015"}
PURPOSE = {"LegalBasis": "Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants", "CaseNumber": "SD-2026/1417"}
ERIKA = "150342-10121"
NOBODY = "051230-10106"
AIVARS = "020761-12340"

SERVICES = {
    "GetApplicationList": "URN:IVIS:100001:ISS-LM-GetApplicationList-v1-0",
    "GetQueueStatusList": "URN:IVIS:100001:ISS-LM-GetQueueStatusList-v1-0",
}
PORTS = ["Soap11", "Soap12"]


def session():
    """A requests session presenting riga.crt and trusting only the example CA.

    trust_env is off: this machine exports REQUESTS_CA_BUNDLE, which would otherwise
    replace `verify` with the system bundle and fail the handshake.
    """
    s = Session()
    s.trust_env = False
    s.verify = str(CERTS / "ca.crt")
    s.cert = (str(CERTS / "riga.crt"), str(CERTS / "riga.key"))
    return s


_clients = {}
history = HistoryPlugin()
ENVELOPES = {
    "Soap11": "http://schemas.xmlsoap.org/soap/envelope/",
    "Soap12": "http://www.w3.org/2003/05/soap-envelope",
}


def client(operation):
    if operation not in _clients:
        _clients[operation] = Client(
            f"{URL}/{operation}?wsdl", transport=Transport(session=session()), plugins=[history]
        )
    return _clients[operation]


def items(container, name):
    """The repeated children of a list element; zeep gives None for an empty one."""
    return [] if container is None else (getattr(container, name) or [])


def bound(operation, port):
    return client(operation).bind(f"{operation}Service", f"{operation}{port}")


@pytest.mark.parametrize("port", PORTS)
def test_ep115_plain_returns_erikas_applications(port):
    answer = bound("GetApplicationList", port).GetApplicationList(PersonCode=ERIKA, Purpose=PURPOSE, Operator=OPERATOR)
    # The port decides the SOAP version, both ways.
    assert history.last_sent["envelope"].tag == f"{{{ENVELOPES[port]}}}Envelope"
    assert history.last_received["envelope"].tag == f"{{{ENVELOPES[port]}}}Envelope"
    assert answer.Person.FirstName == "Ērika"
    assert answer.Person.Surname == "Kalniņa"
    applications = answer.Applications.Application
    assert len(applications) >= 2
    for application in applications:
        assert application.ApplicationNumber
        assert application.SubmissionDate is not None
        assert application.Applicant.PersonCode == ERIKA
        assert application.Municipality.Name
    assert any(a.LegalRepresentative is not None for a in applications)
    # When SPOLIS extracted the data: the demo export's AsOf, a timezone-aware datetime.
    assert answer.RegisterAsOf == datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("port", PORTS)
def test_ep115_gives_each_application_its_status_and_a_refusal_its_decision(port):
    erika = bound("GetApplicationList", port).GetApplicationList(PersonCode=ERIKA, Purpose=PURPOSE, Operator=OPERATOR)
    assert [a.Status.Code for a in erika.Applications.Application] == ["in-queue", "in-queue"]
    assert all(a.Status.Name == "Uzņemts rindā" for a in erika.Applications.Application)
    assert all(not items(a.RefusalDecisions, "RefusalDecision") for a in erika.Applications.Application)
    # The nature of her problem (problēmas būtība): the client group the service is for.
    assert {a.ProblemNature.Code for a in erika.Applications.Application} == {"REDZES-INVALIDITATE"}
    aivars = bound("GetApplicationList", port).GetApplicationList(PersonCode=AIVARS, Purpose=PURPOSE, Operator=OPERATOR)
    (application,) = aivars.Applications.Application
    assert (application.Status.Code, application.Status.Name) == ("refused", "Pakalpojums atteikts")
    (refusal,) = items(application.RefusalDecisions, "RefusalDecision")
    assert refusal.DecisionDate.isoformat() == "2023-05-15"
    assert refusal.DocumentNumber.startswith("LM-2023/")
    assert "dokumenti" in refusal.Reason


@pytest.mark.parametrize("port", PORTS)
def test_ep116_plain_returns_events_with_latvian_labels_and_positions(port):
    answer = bound("GetQueueStatusList", port).GetQueueStatusList(PersonCode=ERIKA, Purpose=PURPOSE, Operator=OPERATOR)
    assert answer.Person.Surname == "Kalniņa"
    assert answer.RegisterAsOf == datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    events = answer.QueueEvents.QueueEvent
    assert events
    labels = {event.EventKind.Code: event.EventKind.Name for event in events}
    assert all(event.ProblemNature.Code == "REDZES-INVALIDITATE" for event in events)
    assert labels.get(1) == "lēmums par uzņemšanu rindā", labels
    positions = answer.QueuePositions.QueuePosition
    assert len(positions) >= 2
    for position in positions:
        assert 0 <= position.PlacesAhead < position.QueueLength
        assert position.Provider.Name
        # The expected wait: an estimate with its range, or "too little movement" — never both.
        wait = position.EstimatedWait
        assert (wait.BasisMonths, wait.BasisFrom, wait.BasisTill) == (12, datetime.date(2025, 11, 1), datetime.date(2026, 10, 31))
        if wait.InsufficientData is True:
            assert wait.Months is None and wait.BasisExits < 6
        else:
            assert wait.InsufficientData is False
            assert wait.BasisExits >= 6 and wait.MonthsLow <= wait.Months
            assert wait.MonthsHigh is None or wait.Months <= wait.MonthsHigh
        assert "12 mēnešos (01.11.2025.–31.10.2026.)" in wait.Basis


@pytest.mark.parametrize("operation", list(SERVICES))
@pytest.mark.parametrize("port", PORTS)
def test_a_person_without_records_gets_an_empty_answer(operation, port):
    answer = getattr(bound(operation, port), operation)(PersonCode=NOBODY, Purpose=PURPOSE, Operator=OPERATOR)
    assert answer.Person is None
    # zeep reads an empty list element as None.
    if operation == "GetApplicationList":
        assert not items(answer.Applications, "Application")
    else:
        assert not items(answer.QueueEvents, "QueueEvent")
        assert not items(answer.QueuePositions, "QueuePosition")


@pytest.mark.parametrize("operation", list(SERVICES))
@pytest.mark.parametrize("port", PORTS)
def test_an_invalid_personal_code_is_a_fault_with_its_code(operation, port):
    with pytest.raises(Fault) as raised:
        getattr(bound(operation, port), operation)(PersonCode="150342-10120", Purpose=PURPOSE, Operator=OPERATOR)
    detail = raised.value.detail
    assert detail is not None
    codes = [element.text for element in detail.iter(f"{{{SPOLIS}}}Code")]
    assert codes == ["InvalidPersonCode"], codes


@pytest.mark.parametrize("operation", list(SERVICES))
@pytest.mark.parametrize("port", PORTS)
def test_ivis_operation_answers_inside_the_ivis_envelope(operation, port):
    zeep_client = client(operation)
    request_element = zeep_client.get_element(f"{{{SPOLIS}}}{operation}")
    inner = xsd.AnyObject(request_element, request_element(PersonCode=ERIKA, Purpose=PURPOSE, Operator=OPERATOR))
    message_id = str(uuid.uuid4())
    header = {
        "MessageID": message_id,
        "MessageType": f"URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-{operation}",
        "Sender": {"NameIdentifier": "AU:90011524360"},
        "Destination": SERVICES[operation],
    }
    answer = getattr(bound(operation, port), f"{operation}IVIS")(Header=header, Body={"_value_1": inner})
    assert answer.Header.Result == "success"
    assert answer.Header.MessageType == f"URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-{operation}Response"
    # zeep knows the element inside the xs:any from the schema and types it.
    payload = answer.Body._value_1
    assert payload.Person.Surname == "Kalniņa"
    if operation == "GetApplicationList":
        assert items(payload.Applications, "Application")
    else:
        assert items(payload.QueuePositions, "QueuePosition")


@pytest.mark.parametrize("port", PORTS)
def test_ivis_refusal_is_an_error_list_with_its_code(port):
    zeep_client = client("GetQueueStatusList")
    request_element = zeep_client.get_element(f"{{{SPOLIS}}}GetQueueStatusList")
    inner = xsd.AnyObject(request_element, request_element(PersonCode="999999-99999", Purpose=PURPOSE, Operator=OPERATOR))
    header = {
        "MessageID": str(uuid.uuid4()),
        "MessageType": "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatusList",
        "Destination": SERVICES["GetQueueStatusList"],
    }
    answer = bound("GetQueueStatusList", port).GetQueueStatusListIVIS(Header=header, Body={"_value_1": inner})
    assert answer.Header.Result == "failure"
    assert [error.ErrorCode for error in answer.ErrorList.Error] == ["InvalidPersonCode"]


@pytest.mark.parametrize("port", PORTS)
def test_ep116_as_of_today_is_the_register_as_it_stands_and_a_later_day_is_refused(port):
    service = bound("GetQueueStatusList", port)
    now = service.GetQueueStatusList(PersonCode=ERIKA, Purpose=PURPOSE, Operator=OPERATOR)
    # The service counts its day at UTC+3; yesterday (UTC) is never after it.
    yesterday = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
    then = service.GetQueueStatusList(PersonCode=ERIKA, AsOf=yesterday, Purpose=PURPOSE, Operator=OPERATOR)
    assert [p.QueuedSince for p in items(then.QueuePositions, "QueuePosition")] == [
        p.QueuedSince for p in items(now.QueuePositions, "QueuePosition")
    ]
    long_ago = service.GetQueueStatusList(PersonCode=ERIKA, AsOf=datetime.date(2000, 1, 1), Purpose=PURPOSE, Operator=OPERATOR)
    assert not items(long_ago.QueueEvents, "QueueEvent")
    assert not items(long_ago.QueuePositions, "QueuePosition")
    with pytest.raises(Fault) as raised:
        service.GetQueueStatusList(PersonCode=ERIKA, AsOf=datetime.date(2999, 1, 1), Purpose=PURPOSE, Operator=OPERATOR)
    codes = [element.text for element in raised.value.detail.iter(f"{{{SPOLIS}}}Code")]
    assert codes == ["AsOfInFuture"], codes


STATISTICS_URN = "URN:IVIS:100001:ISS-LM-GetQueueStatistics-v1-0"
STATISTICS_PURPOSE = {"LegalBasis": "Ministru kabineta 2015. gada 13. oktobra noteikumi Nr. 587, 15.2. punkts"}
COUNTS = ["Waiting", "Admitted", "Offered", "Declined", "Granted", "Refused", "Removed"]


def value_or_suppressed(statistic):
    """A StatisticValueStructure: the number, or None when withheld — never both."""
    assert (statistic.Value is None) != (statistic.Suppressed is None), statistic
    return statistic.Value


@pytest.mark.parametrize("port", PORTS)
def test_statistics_answer_a_year_of_queues_with_nothing_small_published(port):
    service = bound("GetQueueStatistics", port)
    # zeep writes and reads an xs:gYearMonth as (year, month, time zone).
    answer = service.GetQueueStatistics(
        Period={"FromMonth": (2025, 12, None), "TillMonth": (2026, 11, None)}, Purpose=STATISTICS_PURPOSE, Operator=OPERATOR
    )
    assert answer.MinimumCount == 5
    assert answer.FromMonth[:2] == (2025, 12) and answer.TillMonth[:2] == (2026, 11)
    queues = items(answer.Queues, "Queue")
    assert queues, "the demo's queues"
    published = 0
    for queue in queues:
        assert queue.Municipality is None
        assert len(queue.Month) == 12
        for month in queue.Month:
            for name in COUNTS:
                value = value_or_suppressed(getattr(month, name))
                assert value is None or value == 0 or value >= 5, (queue.Provider.Code, month.Month, name, value)
                published += value is not None
    assert published > 0


@pytest.mark.parametrize("port", PORTS)
def test_statistics_in_the_ivis_envelope_and_a_bad_period_refused(port):
    zeep_client = client("GetQueueStatistics")
    request_element = zeep_client.get_element(f"{{{SPOLIS}}}GetQueueStatistics")
    inner = xsd.AnyObject(
        request_element,
        request_element(Period={"MonthsBack": 6}, ByMunicipality=True, Purpose=STATISTICS_PURPOSE, Operator=OPERATOR),
    )
    header = {
        "MessageID": str(uuid.uuid4()),
        "MessageType": "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatistics",
        "Sender": {"NameIdentifier": "AU:90011524360"},
        "Destination": STATISTICS_URN,
    }
    answer = bound("GetQueueStatistics", port).GetQueueStatisticsIVIS(Header=header, Body={"_value_1": inner})
    assert answer.Header.Result == "success"
    assert answer.Header.MessageType == "URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatisticsResponse"
    payload = answer.Body._value_1
    assert all(queue.Municipality is not None for queue in items(payload.Queues, "Queue"))

    with pytest.raises(Fault) as raised:
        bound("GetQueueStatistics", port).GetQueueStatistics(
            Period={"MonthsBack": 37}, Purpose=STATISTICS_PURPOSE, Operator=OPERATOR
        )
    codes = [element.text for element in raised.value.detail.iter(f"{{{SPOLIS}}}Code")]
    assert codes == ["PeriodOutOfRange"], codes
