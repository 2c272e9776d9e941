// Node's `soap` package against the RUNNING spolis-adapter: an independent, WSDL-driven client.
//
// Input: SPOLIS_URL (e.g. https://localhost:8443) of a demo server, and the example
// certificates (SPOLIS_CERTS, default certs-example/ at the repository root). The client
// reads each service's WSDL from `<url>/<Path>?wsdl` over mutual TLS and calls both
// operations (plain and IVIS) on both ports (SOAP 1.1 and 1.2), checking the demo data come
// back. It never talks to anything but that URL. Run with `node --test`.

'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { test } = require('node:test');
const soap = require('soap');

const CERTS = process.env.SPOLIS_CERTS || path.resolve(__dirname, '../../../certs-example');
const URL = (process.env.SPOLIS_URL || 'https://localhost:8443').replace(/\/$/, '');
const SPOLIS = 'http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS/v1-0';
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

const OPERATOR = { FirstName: 'Anna', Surname: 'Liepiņa', PersonCode: '120379-10015' };
const PURPOSE = { LegalBasis: 'Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants', CaseNumber: 'SD-2026/1417' };
const ERIKA = '150342-10121';
const NOBODY = '051230-10106';
const AIVARS = '020761-12340';
const SERVICES = {
  GetApplicationList: 'URN:IVIS:100001:ISS-LM-GetApplicationList-v1-0',
  GetQueueStatusList: 'URN:IVIS:100001:ISS-LM-GetQueueStatusList-v1-0',
};
const PORTS = ['Soap11', 'Soap12'];

const tls = {
  ca: fs.readFileSync(path.join(CERTS, 'ca.crt')),
  cert: fs.readFileSync(path.join(CERTS, 'riga.crt')),
  key: fs.readFileSync(path.join(CERTS, 'riga.key')),
};

/** A client bound to one port; SOAP 1.2 needs forceSoap12Headers, or soap sends 1.1. */
async function bound(operation, port) {
  const client = await soap.createClientAsync(`${URL}/${operation}?wsdl`, {
    wsdl_options: { httpsAgent: new https.Agent(tls) },
    forceSoap12Headers: port === 'Soap12',
  });
  client.setSecurity(
    new soap.ClientSSLSecurity(path.join(CERTS, 'riga.key'), path.join(CERTS, 'riga.crt'), path.join(CERTS, 'ca.crt')),
  );
  const service = client[`${operation}Service`][`${operation}${port}`];
  return { client, service };
}

/** Calls `method` and returns [answer, rawResponse, rawRequest]. */
async function call(service, method, args) {
  return new Promise((resolve, reject) => {
    service[method](args, (err, answer, raw, _headers, rawRequest) => (err ? reject(err) : resolve([answer, raw, rawRequest])));
  });
}

const list = (value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

for (const port of PORTS) {
  test(`EP115 plain on ${port} returns Ērika Kalniņa's applications`, async () => {
    const { service } = await bound('GetApplicationList', port);
    const [answer, raw, sent] = await call(service, 'GetApplicationList', { PersonCode: ERIKA, Purpose: PURPOSE, Operator: OPERATOR });
    const envelope = port === 'Soap12' ? SOAP12 : SOAP11;
    assert.ok(sent.includes(envelope), 'request envelope version');
    assert.ok(raw.includes(envelope), 'answer envelope version');
    assert.equal(answer.Person.FirstName, 'Ērika');
    assert.equal(answer.Person.Surname, 'Kalniņa');
    const applications = list(answer.Applications.Application);
    assert.ok(applications.length >= 2, `applications: ${applications.length}`);
    for (const application of applications) {
      assert.ok(application.ApplicationNumber);
      assert.equal(application.Applicant.PersonCode, ERIKA);
    }
    assert.ok(applications.some((a) => a.LegalRepresentative), 'a legal representative');
    // When SPOLIS extracted the data: the demo export's AsOf (node-soap gives xs:dateTime as a Date).
    assert.equal(new Date(answer.RegisterAsOf).toISOString(), '2026-11-01T00:00:00.000Z');
  });

  test(`EP115 on ${port} gives each application its status and a refusal its decision`, async () => {
    const { service } = await bound('GetApplicationList', port);
    const [erika] = await call(service, 'GetApplicationList', { PersonCode: ERIKA, Purpose: PURPOSE, Operator: OPERATOR });
    const statuses = list(erika.Applications.Application).map((a) => [a.Status.Code, a.Status.Name]);
    assert.deepEqual(statuses, [['in-queue', 'Uzņemts rindā'], ['in-queue', 'Uzņemts rindā']]);
    const natures = list(erika.Applications.Application).map((a) => a.ProblemNature.Code);
    assert.deepEqual(natures, ['REDZES-INVALIDITATE', 'REDZES-INVALIDITATE'], 'the nature of her problem');
    const [aivars] = await call(service, 'GetApplicationList', { PersonCode: AIVARS, Purpose: PURPOSE, Operator: OPERATOR });
    const [application] = list(aivars.Applications.Application);
    assert.deepEqual([application.Status.Code, application.Status.Name], ['refused', 'Pakalpojums atteikts']);
    const refusals = list(application.RefusalDecisions.RefusalDecision);
    assert.equal(refusals.length, 1);
    // node-soap turns xs:date into a Date at UTC midnight.
    assert.equal(new Date(refusals[0].DecisionDate).toISOString().slice(0, 10), '2023-05-15');
    assert.ok(refusals[0].DocumentNumber.startsWith('LM-2023/'), refusals[0].DocumentNumber);
    assert.ok(refusals[0].Reason.includes('dokumenti'), refusals[0].Reason);
  });

  test(`EP116 plain on ${port} returns events with Latvian labels and queue positions`, async () => {
    const { service } = await bound('GetQueueStatusList', port);
    const [answer] = await call(service, 'GetQueueStatusList', { PersonCode: ERIKA, Purpose: PURPOSE, Operator: OPERATOR });
    assert.equal(new Date(answer.RegisterAsOf).toISOString(), '2026-11-01T00:00:00.000Z');
    const events = list(answer.QueueEvents.QueueEvent);
    assert.ok(events.length > 0);
    const admitted = events.find((e) => Number(e.EventKind.Code) === 1);
    assert.ok(admitted, 'an admission event');
    assert.equal(admitted.EventKind.Name, 'lēmums par uzņemšanu rindā');
    assert.equal(admitted.ProblemNature.Name, 'Persona ar I vai II grupas redzes invaliditāti');
    const positions = list(answer.QueuePositions.QueuePosition);
    assert.ok(positions.length >= 2, `positions: ${positions.length}`);
    for (const position of positions) {
      assert.ok(Number(position.PlacesAhead) < Number(position.QueueLength));
      // The expected wait: an estimate with its range, or "too little movement" — never both.
      const wait = position.EstimatedWait;
      assert.equal(Number(wait.BasisMonths), 12);
      assert.equal(new Date(wait.BasisFrom).toISOString().slice(0, 10), '2025-11-01');
      if (String(wait.InsufficientData) === 'true') {
        assert.ok(wait.Months === undefined && Number(wait.BasisExits) < 6, JSON.stringify(wait));
      } else {
        assert.equal(String(wait.InsufficientData), 'false');
        assert.ok(Number(wait.BasisExits) >= 6 && Number(wait.MonthsLow) <= Number(wait.Months), JSON.stringify(wait));
      }
      assert.ok(wait.Basis.includes('12 mēnešos (01.11.2025.–31.10.2026.)'), wait.Basis);
    }
  });

  for (const operation of Object.keys(SERVICES)) {
    test(`${operation} on ${port}: a person without records gets an empty answer`, async () => {
      const { service } = await bound(operation, port);
      const [answer, raw] = await call(service, operation, { PersonCode: NOBODY, Purpose: PURPOSE, Operator: OPERATOR });
      assert.ok(!answer || !answer.Person, 'no person');
      assert.ok(!raw.includes('<Application>') && !raw.includes('<QueueEvent>'), raw);
      assert.ok(raw.includes(`${operation}Response`), raw);
    });

    test(`${operation} on ${port}: an invalid personal code is a fault with code InvalidPersonCode`, async () => {
      const { service } = await bound(operation, port);
      await assert.rejects(call(service, operation, { PersonCode: '150342-10120', Purpose: PURPOSE, Operator: OPERATOR }), (err) => {
        const body = String(err.body || '');
        assert.match(body, /<Code>InvalidPersonCode<\/Code>/, body);
        assert.match(body, /<Number>108<\/Number>/, body);
        return true;
      });
    });

    test(`${operation}IVIS on ${port} answers inside the IVIS envelope`, async () => {
      const { service } = await bound(operation, port);
      const inner =
        `<spolis:${operation} xmlns:spolis="${SPOLIS}"><spolis:PersonCode>${ERIKA}</spolis:PersonCode>` +
        `<spolis:Purpose><spolis:LegalBasis>${PURPOSE.LegalBasis}</spolis:LegalBasis></spolis:Purpose>` +
        `<spolis:Operator><spolis:FirstName>Anna</spolis:FirstName><spolis:Surname>Liepiņa</spolis:Surname>` +
        `<spolis:PersonCode>120379-10015</spolis:PersonCode></spolis:Operator></spolis:${operation}>`;
      const [answer, raw] = await call(service, `${operation}IVIS`, {
        Header: {
          MessageID: crypto.randomUUID(),
          MessageType: `URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-${operation}`,
          Sender: { NameIdentifier: 'AU:90011524360' },
          Destination: SERVICES[operation],
        },
        Body: { $xml: inner },
      });
      assert.equal(answer.Header.Result, 'success', raw);
      assert.equal(answer.Header.MessageType, `URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-${operation}Response`);
      assert.ok(raw.includes('<Surname>Kalniņa</Surname>'), raw);
    });
  }

  test(`EP116 on ${port}: as of a day long ago there are no events nor positions, a later day than today is refused`, async () => {
    const { service } = await bound('GetQueueStatusList', port);
    const [then, raw] = await call(service, 'GetQueueStatusList', { PersonCode: ERIKA, AsOf: '2000-01-01', Purpose: PURPOSE, Operator: OPERATOR });
    assert.equal(then.Person.Surname, 'Kalniņa');
    assert.ok(!raw.includes('<QueueEvent>') && !raw.includes('<QueuePosition>'), raw);
    await assert.rejects(call(service, 'GetQueueStatusList', { PersonCode: ERIKA, AsOf: '2999-01-01', Purpose: PURPOSE, Operator: OPERATOR }), (err) => {
      const body = String(err.body || '');
      assert.match(body, /<Code>AsOfInFuture<\/Code>/, body);
      assert.match(body, /<Number>132<\/Number>/, body);
      return true;
    });
  });

  test(`EP115 on ${port}: a request without a purpose is refused with PurposeMissing`, async () => {
    const { service } = await bound('GetApplicationList', port);
    await assert.rejects(call(service, 'GetApplicationList', { PersonCode: ERIKA, Operator: OPERATOR }), (err) => {
      const body = String(err.body || '');
      assert.match(body, /<Code>PurposeMissing<\/Code>/, body);
      assert.match(body, /<Number>131<\/Number>/, body);
      return true;
    });
  });
}

const STATISTICS_PURPOSE = { LegalBasis: 'Ministru kabineta 2015. gada 13. oktobra noteikumi Nr. 587, 15.2. punkts' };
const COUNTS = ['Waiting', 'Admitted', 'Offered', 'Declined', 'Granted', 'Refused', 'Removed'];

for (const port of PORTS) {
  test(`GetQueueStatistics on ${port}: a year of queues, every count 0, 5 or more, or Suppressed`, async () => {
    const { service } = await bound('GetQueueStatistics', port);
    const [answer, raw] = await call(service, 'GetQueueStatistics', {
      Period: { FromMonth: '2025-12', TillMonth: '2026-11' },
      Purpose: STATISTICS_PURPOSE,
      Operator: OPERATOR,
    });
    assert.equal(Number(answer.MinimumCount), 5);
    const queues = list(answer.Queues && answer.Queues.Queue);
    assert.ok(queues.length > 0, raw);
    for (const queue of queues) {
      const months = list(queue.Month);
      assert.equal(months.length, 12);
      for (const month of months) {
        for (const name of COUNTS) {
          const statistic = month[name];
          const withheld = statistic.Suppressed !== undefined;
          assert.notEqual(withheld, statistic.Value !== undefined, JSON.stringify(statistic));
          if (!withheld) {
            const value = Number(statistic.Value);
            assert.ok(value === 0 || value >= 5, `${queue.Provider.Code} ${month.Month} ${name} ${value}`);
          }
        }
      }
    }
  });

  test(`GetQueueStatisticsIVIS on ${port} answers inside the IVIS envelope; a period too long is PeriodOutOfRange`, async () => {
    const { service } = await bound('GetQueueStatistics', port);
    const inner =
      `<spolis:GetQueueStatistics xmlns:spolis="${SPOLIS}"><spolis:Period><spolis:MonthsBack>6</spolis:MonthsBack></spolis:Period>` +
      `<spolis:Purpose><spolis:LegalBasis>${STATISTICS_PURPOSE.LegalBasis}</spolis:LegalBasis></spolis:Purpose>` +
      `<spolis:Operator><spolis:FirstName>Anna</spolis:FirstName><spolis:Surname>Liepiņa</spolis:Surname>` +
      `<spolis:PersonCode>120379-10015</spolis:PersonCode></spolis:Operator></spolis:GetQueueStatistics>`;
    const [answer, raw] = await call(service, 'GetQueueStatisticsIVIS', {
      Header: {
        MessageID: crypto.randomUUID(),
        MessageType: 'URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatistics',
        Sender: { NameIdentifier: 'AU:90011524360' },
        Destination: 'URN:IVIS:100001:ISS-LM-GetQueueStatistics-v1-0',
      },
      Body: { $xml: inner },
    });
    assert.equal(answer.Header.Result, 'success', raw);
    assert.equal(answer.Header.MessageType, 'URN:IVIS:100001:XSD-LM-SPOLIS-v1-0-TYPE-GetQueueStatisticsResponse');
    assert.ok(raw.includes('<MinimumCount>5</MinimumCount>'), raw);
    await assert.rejects(
      call(service, 'GetQueueStatistics', { Period: { MonthsBack: 37 }, Purpose: STATISTICS_PURPOSE, Operator: OPERATOR }),
      (err) => {
        const body = String(err.body || '');
        assert.match(body, /<Code>PeriodOutOfRange<\/Code>/, body);
        assert.match(body, /<Number>133<\/Number>/, body);
        return true;
      },
    );
  });
}

