// A benchmark peer: EP115 GetApplicationList and EP116 GetQueueStatusList with the node
// 'soap' package, from our own WSDL files (wsdl/, importing xsd/), over https with a
// mandatory client certificate, answering from the same SQLite register (same SQL as
// src/store/sqlite.rs) read with sql.js (SQLite compiled to WebAssembly).
//
//   node bench/peers/node-soap/server.js --register R.sqlite3 --port P [--workers N]
//
// Node's cluster module: the primary forks N workers (default: the number of CPUs, 2 here)
// that share the listening socket; each worker holds its own in-memory copy of the register.
// See ../README.md for what it does and does not do compared with spolis-adapter.
'use strict';

const cluster = require('node:cluster');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..', '..');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const register = option('register', process.env.SPOLIS_REGISTER);
const port = Number(option('port', '8444'));
const workers = Number(option('workers', String(os.availableParallelism())));
const certs = option('certs', path.join(repo, 'certs-example'));

if (!register) {
  console.error('server.js: --register <spolis.sqlite3> is required');
  process.exit(2);
}

if (cluster.isPrimary && workers > 1) {
  let stopping = false;
  let exitStatus = 0;
  let ready = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('message', (_worker, message) => {
    if (message === 'listening' && ++ready === workers) {
      console.log(`node-soap peer listening on https://localhost:${port} (${workers} workers)`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(exitStatus);
      return;
    }
    // A benchmark peer fails loudly rather than go on with fewer workers.
    console.error(`worker ${worker.process.pid} exited (${signal || code}); stopping`);
    stop(1);
  });
  const stop = (status) => {
    stopping = true;
    exitStatus = status;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    if (Object.keys(cluster.workers).length === 0) process.exit(status);
    setTimeout(() => process.exit(status), 3000).unref();
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
} else {
  start().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------
// The register: the SQL of src/store/sqlite.rs.

const SQL = {
  person: 'SELECT id, person_code, first_name, surname FROM persons WHERE person_code = ?1',
  serviceKindId: 'SELECT id FROM service_kinds WHERE code = ?1',
  providerId: 'SELECT id FROM providers WHERE code = ?1',
  applications: `
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
ORDER BY a.submitted_on, a.application_number`,
  documents: `
SELECT d.application_id, d.title, d.submitted_on
FROM applications a JOIN submitted_documents d ON d.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.submitted_on, d.id`,
  documentRequests: `
SELECT q.application_id, q.requested_on, q.description, q.due_on, q.fulfilled_on
FROM applications a JOIN document_requests q ON q.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY q.requested_on, q.id`,
  grantDecisions: `
SELECT g.application_id, g.decided_on, g.document_number, p.code, p.name, g.granted_from
FROM applications a JOIN grant_decisions g ON g.application_id = a.id
JOIN providers p ON p.id = g.provider_id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY g.decided_on, g.id`,
  queueDecisions: `
SELECT d.application_id, d.decided_on, d.document_number, p.code, p.name, d.queued_from
FROM applications a JOIN queue_decisions d ON d.application_id = a.id
JOIN providers p ON p.id = d.provider_id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.decided_on, d.id`,
  refusalDecisions: `
SELECT d.application_id, d.decided_on, d.document_number, d.reason
FROM applications a JOIN refusal_decisions d ON d.application_id = a.id
WHERE a.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY d.decided_on, d.id`,
  applicationEvents: `
SELECT e.application_id, e.kind
FROM queue_events e JOIN applications a ON a.id = e.application_id
WHERE e.person_id = ?1 AND a.submitted_on BETWEEN ?2 AND ?3
ORDER BY e.event_date, e.id`,
  queueEvents: `
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
ORDER BY e.event_date, e.id`,
  queuePositions: `
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
ORDER BY e.queued_since, e.id`,
};

// The 15 queue event kinds and their Latvian labels (src/model.rs QueueEventKind::label).
const EVENT_KINDS = [
  null,
  'lēmums par uzņemšanu rindā',
  'pieprasījums dokumentu atjaunošanai',
  'dokumenti atjaunoti',
  'iesniegums iestādes maiņai',
  'lēmums par pakalpojumu piešķiršanu',
  'piedāvāta brīvā vieta',
  'atsakās no konkrētās iestādes',
  'lēmums par personas atjaunošanu rindā',
  'lēmums par uzņemšanu rindā pakalpojumu sniedzēju maiņai',
  'lēmums par pakalpojumu sniedzēju maiņu',
  'lēmums par uzņemšanu rindā pakalpojumu veida maiņai',
  'lēmumi par pusceļa mājas piešķiršanu',
  'lēmums par pakalpojuma veida maiņu',
  'lēmums par atteikumu',
  'vēstule par iesnieguma izskatīšanu un dokumentu pieprasīšanu',
];

const PERSON_CODE = /^[0-9]{6}-?[0-9]{5}$/;

function fault(message) {
  return { Fault: { faultcode: 'soap:Client', faultstring: message, statusCode: 500 } };
}

class Register {
  constructor(SQLite, file) {
    const bytes = fs.readFileSync(file);
    // The register is in WAL mode (header bytes 18/19 = 2); this is an in-memory copy, which
    // has no WAL: mark the copy as a rollback-journal database. The file is not touched.
    bytes[18] = 1;
    bytes[19] = 1;
    this.db = new SQLite.Database(bytes);
    // The copy is this process's alone: exclusive locking keeps SQLite from re-validating its
    // page cache at every statement (4× faster answers measured here), and a cache larger
    // than the register keeps every page decoded. Read-only, as ours.
    this.db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -262144; PRAGMA query_only = ON;');
    this.statements = {};
    for (const [name, sql] of Object.entries(SQL)) this.statements[name] = this.db.prepare(sql);
  }

  rows(name, params) {
    const statement = this.statements[name];
    statement.bind(params);
    const rows = [];
    try {
      while (statement.step()) rows.push(statement.get());
    } finally {
      statement.reset();
    }
    return rows;
  }

  one(name, params) {
    return this.rows(name, params)[0];
  }
}

const hyphenated = (code) => `${code.slice(0, 6)}-${code.slice(6)}`;
const provider = (code, name) => (code === null ? undefined : { Code: code, Name: name });

function contacts(phone, email) {
  if (phone === null && email === null) return undefined;
  const c = {};
  if (phone !== null) c.Phone = phone;
  if (email !== null) c.Email = email;
  return c;
}

// Adds the optional members whose value is present, in order (node-soap writes the keys in
// insertion order and would write an empty element for an undefined value's key otherwise).
function build(pairs) {
  const o = {};
  for (const [key, value] of pairs) if (value !== undefined && value !== null) o[key] = value;
  return o;
}

function checkRequest(args) {
  if (!args || typeof args.PersonCode !== 'string' || !PERSON_CODE.test(args.PersonCode)) {
    throw fault('PersonCode is missing or does not match [0-9]{6}-?[0-9]{5}');
  }
  if (!args.Purpose || !args.Purpose.LegalBasis) {
    throw fault('Purpose (LegalBasis) is missing');
  }
  const op = args.Operator;
  if (!op || !op.FirstName || !op.Surname || typeof op.PersonCode !== 'string' || !PERSON_CODE.test(op.PersonCode)) {
    throw fault('Operator (FirstName, Surname, PersonCode) is missing or invalid');
  }
  let from = '0000-01-01';
  let till = '9999-12-31';
  if (args.Period) {
    if (args.Period.From) from = String(args.Period.From).slice(0, 10);
    if (args.Period.Till) till = String(args.Period.Till).slice(0, 10);
  }
  if (from > till) throw fault("the period's From is after its Till");
  return { digits: args.PersonCode.replace('-', ''), from, till };
}

function findPerson(reg, digits) {
  const row = reg.one('person', [digits]);
  if (!row) return [null, undefined];
  return [row[0], { PersonCode: hyphenated(row[1]), FirstName: row[2], Surname: row[3] }];
}

function queueStatusList(reg, args) {
  const { digits, from, till } = checkRequest(args);
  const [personId, person] = findPerson(reg, digits);
  const events = [];
  const positions = [];
  if (personId !== null) {
    let known = true;
    const narrow = (name, code) => {
      if (code === undefined || code === null || code === '') return null;
      const row = reg.one(name, [String(code)]);
      if (!row) known = false;
      return row ? row[0] : null;
    };
    const sk = narrow('serviceKindId', args.ServiceKindCode);
    const pr = narrow('providerId', args.ProviderCode);
    if (known) {
      for (const r of reg.rows('queueEvents', [personId, from, till, sk, pr])) {
        const offered = provider(r[7], r[8]);
        events.push(build([
          ['EventKind', { Code: r[0], Name: EVENT_KINDS[r[0]] }],
          ['EventDate', r[1]],
          ['DecisionNumber', r[2]],
          ['ServiceKind', { Code: r[3], Name: r[4] }],
          ['PreferredProvider', provider(r[5], r[6])],
          ['OfferedPlace', offered && { Provider: offered, Address: r[9] || '' }],
          ['GrantDate', r[10]],
          ['ApplicationNumber', r[11]],
        ]));
      }
      for (const r of reg.rows('queuePositions', [personId, sk, pr])) {
        positions.push({
          ServiceKind: { Code: r[0], Name: r[1] },
          Provider: { Code: r[2], Name: r[3] },
          QueuedSince: r[4],
          PlacesAhead: r[5],
          QueueLength: r[6],
        });
      }
    }
  }
  return build([
    ['Person', person],
    ['QueueEvents', { QueueEvent: events }],
    ['QueuePositions', { QueuePosition: positions }],
  ]);
}

function applicationList(reg, args) {
  const { digits, from, till } = checkRequest(args);
  const [personId, person] = findPerson(reg, digits);
  const applications = [];
  if (personId !== null) {
    const params = [personId, from, till];
    const byId = new Map();
    for (const r of reg.rows('applications', params)) {
      const representative = r[13] === null ? undefined : build([
        ['FirstName', r[13]],
        ['Surname', r[14]],
        ['PersonCode', r[15] === null ? undefined : hyphenated(r[15])],
        ['Address', r[16]],
        ['Contacts', contacts(r[17], r[18])],
      ]);
      const application = build([
        ['ApplicationNumber', r[1]],
        ['SubmissionDate', r[2]],
        ['ApplicationKind', r[3]],
        ['Status', { Code: 'submitted', Name: 'Iesniegums saņemts' }],
        ['ServiceKind', { Code: r[4], Name: r[5] }],
        ['PreferredProvider', provider(r[6], r[7])],
        ['Applicant', person],
        ['LegalRepresentative', representative],
        ['Municipality', build([['Code', r[8]], ['Name', r[9]], ['Address', r[10]], ['Contacts', contacts(r[11], r[12])]])],
        ['SubmittedDocuments', { Document: [] }],
        ['DocumentRequests', { DocumentRequest: [] }],
        ['GrantDecisions', { GrantDecision: [] }],
        ['QueueDecisions', { QueueDecision: [] }],
        ['RefusalDecisions', { RefusalDecision: [] }],
      ]);
      byId.set(r[0], application);
      applications.push(application);
    }
    if (applications.length > 0) {
      for (const r of reg.rows('documents', params)) {
        byId.get(r[0]).SubmittedDocuments.Document.push({ Title: r[1], SubmissionDate: r[2] });
      }
      for (const r of reg.rows('documentRequests', params)) {
        byId.get(r[0]).DocumentRequests.DocumentRequest.push(
          build([['RequestDate', r[1]], ['Description', r[2]], ['DueDate', r[3]], ['FulfilledDate', r[4]]]));
      }
      for (const r of reg.rows('grantDecisions', params)) {
        byId.get(r[0]).GrantDecisions.GrantDecision.push(
          { DecisionDate: r[1], DocumentNumber: r[2], Provider: { Code: r[3], Name: r[4] }, GrantedFrom: r[5] });
      }
      for (const r of reg.rows('queueDecisions', params)) {
        byId.get(r[0]).QueueDecisions.QueueDecision.push(
          { DecisionDate: r[1], DocumentNumber: r[2], Provider: { Code: r[3], Name: r[4] }, QueuedFrom: r[5] });
      }
      for (const r of reg.rows('refusalDecisions', params)) {
        byId.get(r[0]).RefusalDecisions.RefusalDecision.push({ DecisionDate: r[1], DocumentNumber: r[2], Reason: r[3] });
      }
      for (const r of reg.rows('applicationEvents', params)) {
        const status = STATUS_OF_KIND.get(r[1]);
        if (status) byId.get(r[0]).Status = { Code: status[0], Name: status[1] };
      }
    }
  }
  return build([['Person', person], ['Applications', { Application: applications }]]);
}

// An application's status: that set by its latest event of a status-setting kind (the
// contract's ApplicationStatusCodeType; kinds 2, 3 and 4 set none).
const STATUS_OF_KIND = new Map([
  [15, ['documents-requested', 'Pieprasīti dokumenti']],
  ...[1, 8, 9, 11].map((kind) => [kind, ['in-queue', 'Uzņemts rindā']]),
  [6, ['place-offered', 'Piedāvāta brīvā vieta']],
  [7, ['offer-declined', 'Atteicies no piedāvātās vietas']],
  ...[5, 10, 12, 13].map((kind) => [kind, ['granted', 'Pakalpojums piešķirts']]),
  [14, ['refused', 'Pakalpojums atteikts']],
]);

// ---------------------------------------------------------------------------------------
// The services: soap.listen with our WSDL files, one per path.

async function start() {
  const soap = require('soap');
  const initSqlJs = require('sql.js');
  const SQLite = await initSqlJs();
  const reg = new Register(SQLite, register);

  const server = https.createServer({
    key: fs.readFileSync(path.join(certs, 'server.key')),
    cert: fs.readFileSync(path.join(certs, 'server.crt')),
    ca: fs.readFileSync(path.join(certs, 'ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.keepAliveTimeout = 5000;

  const ivisNotServed = () => {
    throw fault('the IVIS envelope style is not served by this peer');
  };
  const ep116 = { GetQueueStatusList: (args) => queueStatusList(reg, args), GetQueueStatusListIVIS: ivisNotServed };
  const ep115 = { GetApplicationList: (args) => applicationList(reg, args), GetApplicationListIVIS: ivisNotServed };

  const services = [
    ['GetQueueStatusList', { GetQueueStatusListService: { GetQueueStatusListSoap11: ep116, GetQueueStatusListSoap12: ep116 } }],
    ['GetApplicationList', { GetApplicationListService: { GetApplicationListSoap11: ep115, GetApplicationListSoap12: ep115 } }],
  ];
  await Promise.all(services.map(([name, service]) => new Promise((resolve, reject) => {
    // The WSDL's own path as its uri: its schemaLocation="../xsd/…" (and the xs:include
    // inside the XSDs) are resolved against it, so the repository's xsd/ files are read as
    // they are, without a copy.
    const uri = path.join(repo, 'wsdl', `${name}.wsdl`);
    soap.listen(server, {
      path: `/${name}`,
      services: service,
      xml: fs.readFileSync(uri, 'utf8'),
      uri,
      suppressStack: true,
      callback: (err) => (err ? reject(err) : resolve()),
    });
  })));

  server.listen(port, '127.0.0.1', () => {
    if (cluster.isWorker) {
      process.send('listening');
    } else {
      console.log(`node-soap peer listening on https://localhost:${port} (1 process)`);
    }
  });
  process.on('SIGTERM', () => process.exit(0));
}
