/**
 * Evidence that holds up, against real parts: the server on real SQLite and
 * real PostgreSQL reading the Loki stand-in, packages downloaded over HTTP,
 * the verifier (bin/casefile.js) run as its own process, OpenSSL, sha256sum
 * and jq on the unzipped package; every single-byte change to every file of
 * a package, a re-zipped package with recomputed hashes, a forged manifest,
 * stores edited behind the server's back (better-sqlite3, pg), deleted and
 * locked snapshots, an alert replayed after its snapshot was deleted.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, notEqual, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import yazl from 'yazl';
import { makeEvent, msToNs, resourceAttributes, toLogRecord, type CasefileEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { canonicalJson, sha256Hex } from '../src/evidence/canonical';
import { PACKAGE_FILES } from '../src/export/forensic-package';
import { LokiClient } from '../src/loki/loki-client';
import { verifyPackage } from '../src/verify/verify-package';
import { startPostgres, type Postgres } from './helpers/postgres';
import { waitForEvents } from './helpers/seed';
import { api, GRAFANA_TOKEN, HOOK_TOKEN, READ_TOKEN, startTestServer, TOKEN_NAME } from './helpers/server';
import { readZip as unzip } from '../src/verify/verify-package';

const run = promisify(execFile);
const CLI = new URL('../bin/casefile.js', import.meta.url).pathname;
const HOST = 'node-evidence';
const HOST_ID = 'machine-id-evidence-0001';

/** Push events as a collector with a host id would (OTLP/HTTP JSON, schema's log record). */
async function pushEvents(lokiUrl: string, events: readonly CasefileEvent[]): Promise<void> {
  const value = (v: unknown) =>
    typeof v === 'number'
      ? { intValue: String(v) }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : { stringValue: String(v) };
  const kv = (o: Record<string, unknown>) => Object.entries(o).map(([key, v]) => ({ key, value: value(v) }));
  const body = {
    resourceLogs: [
      {
        resource: {
          attributes: kv(
            resourceAttributes({ serviceName: 'casefile-collector', host: HOST, hostId: HOST_ID })
          ),
        },
        scopeLogs: [
          {
            scope: { name: 'casefile-test' },
            logRecords: events.map((e) => {
              const r = toLogRecord(e);
              return {
                timeUnixNano: e.timeNs,
                observedTimeUnixNano: e.timeNs,
                severityNumber: r.severityNumber,
                severityText: r.severityText,
                body: { stringValue: r.body },
                attributes: kv(r.attributes as Record<string, unknown>),
              };
            }),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${lokiUrl}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP push: ${res.status} ${await res.text()}`);
}

/** `n` events of a few types, 1 ms apart, with hostile strings. */
function evidenceEvents(n: number, startMs: number): CasefileEvent[] {
  return Array.from({ length: n }, (_, i) =>
    makeEvent(
      (i % 3 === 0
        ? {
            type: 'network.connect',
            timeNs: msToNs(startMs + i),
            message: `connect 10.0.0.${i}:443 #${i}`,
            pid: 4000 + i,
            destAddress: `10.0.0.${i}`,
            destPort: 443,
            containerName: 'web',
          }
        : {
            type: 'process.start',
            timeNs: (BigInt(msToNs(startMs + i)) + 7n).toString(),
            message: `exec /bin/sh -c 'echo "${i}" =HYPERLINK("x")' ✓ #${i}`,
            pid: 1000 + i,
            executable: '/bin/sh',
            commandLine: `/bin/sh -c 'echo "${i}"'`,
            containerName: 'web',
          }) as CasefileEvent
    )
  );
}

/** The verifier as a separate process: exit code and what it printed. */
async function verifyCli(zip: string, key?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify', zip, ...(key ? ['--key', key] : [])]);
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** Zip files in the package's order (what a forger with the right tools would make). */
function zipFiles(files: Map<string, Buffer>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, b] of files) z.addBuffer(b, name);
  z.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    z.outputStream.on('error', reject);
  });
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = (await api(url, '/metrics', { token: null })).text;
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

const pinAs = (url: string, user: string, title: string, from: number, to: number) =>
  api(url, '/api/v1/snapshots', {
    method: 'POST',
    token: GRAFANA_TOKEN,
    headers: { 'x-grafana-user': user },
    body: { title, scope: { host: HOST }, from, to },
  });

describe('signed packages, custody log, canonical hashes, offline verifier', () => {
  let loki: Loki;
  let pgServer: Postgres;
  let start: number;
  let sent: CasefileEvent[];
  const dir = mkdtempSync(join(tmpdir(), 'casefile-evidence-'));

  before(async () => {
    loki = await startLoki();
    start = Date.now() - 5 * 60_000;
    sent = evidenceEvents(30, start);
    await pushEvents(loki.url, sent);
    const window = { fromNs: msToNs(start), toNs: msToNs(start + 1000) };
    equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, sent.length), sent.length);
    pgServer = await startPostgres();
  });
  after(async () => {
    await pgServer?.stop();
    await loki?.stop();
  });

  for (const backend of ['sqlite', 'postgres'] as const) {
    describe(backend, () => {
      let server: Awaited<ReturnType<typeof startTestServer>>;
      let keyFile: string;
      let snap: { id: string; contentSha256: string; eventCount: number };
      const zips: Buffer[] = [];

      before(async () => {
        server = await startTestServer({
          lokiUrl: loki.url,
          lokiTenant: undefined,
          hookBeforeSeconds: 60,
          hookAfterSeconds: 60,
          ...(backend === 'postgres' ? { postgresDsn: pgServer.dsn } : {}),
        });
        const key = await api(server.url, '/api/v1/signing-key', { token: READ_TOKEN });
        equal(key.status, 200);
        match(key.json.keyId, /^ed25519:[0-9a-f]{64}$/);
        keyFile = join(dir, `${backend}-key.pem`);
        writeFileSync(keyFile, key.json.publicKeyPem);
      });
      after(async () => {
        await server?.close();
      });

      test('pin, export twice over HTTP: identical evidence files, the verifier (its own process) accepts both', async () => {
        const r = await pinAs(server.url, 'alice', 'evidence', start, start + 1000);
        equal(r.status, 201, r.text);
        snap = r.json.snapshot;
        equal(snap.eventCount, sent.length);
        for (const user of ['bob', 'carol']) {
          const p = await api(server.url, `/api/v1/snapshots/${snap.id}/package`, {
            token: GRAFANA_TOKEN,
            headers: { 'x-grafana-user': user },
          });
          equal(p.status, 200, p.text);
          zips.push(p.buffer);
        }
        const [a, b] = await Promise.all(zips.map(unzip));
        deepEqual([...a.keys()], [...PACKAGE_FILES]);
        for (const f of [
          'README.txt',
          'public-key.pem',
          'snapshot.json',
          'events.jsonl',
          'streams.jsonl',
          'events.csv',
        ])
          ok(a.get(f)!.equals(b.get(f)!), `${f} is the same bytes in both exports`);
        for (const f of ['export.json', 'custody.jsonl', 'manifest.json'])
          ok(!a.get(f)!.equals(b.get(f)!), `${f} is export-specific`);
        const [ma, mb] = [a, b].map((x) => JSON.parse(x.get('manifest.json')!.toString()));
        equal(ma.evidenceSha256, mb.evidenceSha256, 'the same evidence hash identifies both');
        for (const [i, zip] of zips.entries()) {
          const path = join(dir, `${backend}-genuine-${i}.zip`);
          writeFileSync(path, zip);
          const v = await verifyCli(path, keyFile);
          equal(v.code, 0, v.out);
          match(v.out, /^VERIFIED: /m);
          match(v.out, /signed \(Ed25519\) by the trusted key ed25519:/);
          match(v.out, new RegExp(`custody log: ${2 + i} entries`));
          match(v.out, /Pinned by Grafana user alice \(token grafana\)/);
          match(v.out, new RegExp(`Exported by Grafana user ${i ? 'carol' : 'bob'}`));
          match(v.out, new RegExp(`${HOST} \\(host id ${HOST_ID}, ${sent.length} entries\\)`));
          if (backend === 'sqlite' && i === 1) console.log(`--- verifier on a genuine package ---\n${v.out}`);
        }
        const noKey = await verifyCli(join(dir, `${backend}-genuine-0.zip`));
        equal(noKey.code, 3, noKey.out);
        match(noKey.out, /SIGNER NOT CHECKED/);
      });

      test('the manifest is complete; the content hash is recomputable from the collector events alone', async () => {
        const files = await unzip(zips[1]);
        const rec = JSON.parse(files.get('snapshot.json')!.toString());
        const exp = JSON.parse(files.get('export.json')!.toString());
        deepEqual(rec.pinnedBy, { token: 'grafana', grafanaUser: 'alice' });
        deepEqual(exp.exportedBy, { token: 'grafana', grafanaUser: 'carol' });
        equal(rec.server.version, '0.1.0');
        ok(rec.server.instance && exp.server.instance);
        equal(rec.loki.url, loki.url.replace(/\/$/, ''));
        equal(rec.loki.version, loki.version);
        equal(exp.loki.version, loki.version);
        match(rec.query, new RegExp(`host_name="${HOST}"`));
        deepEqual(
          { fromInclusive: rec.window.fromInclusive, toInclusive: rec.window.toInclusive },
          { fromInclusive: true, toInclusive: false }
        );
        equal(rec.window.fromNs, msToNs(start));
        equal(rec.window.toNs, msToNs(start + 1000));
        ok(/^\d{19}$/.test(rec.pinnedAtNs), rec.pinnedAtNs);
        deepEqual(
          rec.collectors.map((c: Record<string, unknown>) => [c.host, c.hostId, c.serviceName, c.events]),
          [[HOST, HOST_ID, 'casefile-collector', sent.length]]
        );
        // The hash from the collector's own events: canonical JSON of each (plus the host the resource named), in (time, id) order.
        const fromCollector = sent
          .map((e) => canonicalJson({ ...e, host: HOST, hostId: HOST_ID }) + '\n')
          .join('');
        equal(sha256Hex(fromCollector), snap.contentSha256);
        equal(files.get('events.jsonl')!.toString(), fromCollector);
        // Stream labels kept with each event, line for line.
        const streams = files
          .get('streams.jsonl')!
          .toString()
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
        equal(streams.length, sent.length);
        equal(streams[0].id, sent[0].id);
        equal(streams[0].stream.service_name, 'casefile-collector');
        equal(streams[0].stream.host_name, HOST);
        // Label order does not matter: the same events with their keys reversed hash the same.
        const reversed = sent.map((e) =>
          Object.fromEntries(Object.entries({ ...e, host: HOST, hostId: HOST_ID }).reverse())
        );
        equal(sha256Hex(reversed.map((e) => canonicalJson(e) + '\n').join('')), snap.contentSha256);
        // And an independent read of Loki, in canonical form, gives the same bytes.
        const back = await new LokiClient({ url: loki.url }).readAll(
          { scope: { host: HOST } },
          { fromNs: msToNs(start), toNs: msToNs(start + 1000) }
        );
        equal(sha256Hex(back.map((e) => canonicalJson(e) + '\n').join('')), snap.contentSha256);
      });

      test("the README's standard-tool steps work: openssl, sha256sum, jq", async () => {
        const files = await unzip(zips[0]);
        const out = join(dir, `${backend}-unzipped`);
        mkdirSync(out, { recursive: true });
        for (const [f, b] of files) writeFileSync(join(out, f), b);
        const readme = files.get('README.txt')!.toString();
        const sh = (cmd: string) => run('bash', ['-o', 'pipefail', '-c', cmd], { cwd: out });
        const step = (n: number) => {
          const m = new RegExp(`^  ${n}\\. [^\\n]*\\n((?:       .*\\n)+)`, 'm').exec(readme);
          ok(m, `README step ${n}`);
          return m[1].trim();
        };
        const sig = await sh(step(1));
        match(sig.stdout, /Signature Verified Successfully/);
        const keyId = JSON.parse(files.get('manifest.json')!.toString()).signingKey.keyId;
        equal((await sh(step(2))).stdout.split(' ')[0], keyId.slice('ed25519:'.length));
        const sums = await sh(step(3));
        equal(
          sums.stdout
            .trim()
            .split('\n')
            .filter((l) => l.endsWith(': OK')).length,
          PACKAGE_FILES.length - 2
        );
        equal((await sh('sha256sum events.jsonl')).stdout.split(' ')[0], snap.contentSha256);
        // The same steps catch a change.
        writeFileSync(join(out, 'events.csv'), files.get('events.csv')!.toString().replace('1001', '1002'));
        await sh(step(3)).then(
          () => ok(false, 'sha256sum -c accepted an edited events.csv'),
          (err) => match(String(err.stdout), /events\.csv: FAILED/)
        );
      });

      test('the custody log through the API: every action, deletion included; its chain verifies; delete of a locked snapshot needs admin', async () => {
        const r = await pinAs(server.url, 'dave', 'to delete', start, start + 100);
        const id = r.json.snapshot.id;
        const gauge = await metric(server.url, /^casefile_server_snapshots (\d+)/m);
        equal(
          (
            await api(server.url, `/api/v1/snapshots/${id}/lock`, {
              method: 'POST',
              token: GRAFANA_TOKEN,
              headers: { 'x-grafana-user': 'erin' },
            })
          ).status,
          200
        );
        equal((await api(server.url, `/api/v1/snapshots/${id}/unlock`, { method: 'POST' })).status, 200);
        equal((await api(server.url, `/api/v1/snapshots/${id}/lock`, { method: 'POST' })).status, 200);
        // Only admin deletes (a locked one too): read-only is refused and nothing is recorded.
        const refused = await api(server.url, `/api/v1/snapshots/${id}`, {
          method: 'DELETE',
          token: READ_TOKEN,
        });
        equal(refused.status, 403);
        match(refused.json.message, /lacks the admin scope/);
        const del = await api(server.url, `/api/v1/snapshots/${id}`, {
          method: 'DELETE',
          token: GRAFANA_TOKEN,
          headers: { 'x-grafana-user': 'frank' },
        });
        equal(del.status, 204);
        equal(
          await metric(server.url, /^casefile_server_snapshots (\d+)/m),
          gauge - 1,
          'the snapshots gauge dropped'
        );
        equal((await api(server.url, `/api/v1/snapshots/${id}`)).status, 404);
        const c = await api(server.url, `/api/v1/snapshots/${id}/custody`, { token: READ_TOKEN });
        equal(c.status, 200, c.text);
        deepEqual(
          c.json.items.map((e: any) => [e.action, e.actor.token, e.actor.grafanaUser]),
          [
            ['pin', 'grafana', 'dave'],
            ['lock', 'grafana', 'erin'],
            ['unlock', TOKEN_NAME, null],
            ['lock', TOKEN_NAME, null],
            ['delete', 'grafana', 'frank'],
          ]
        );
        const tomb = c.json.items[4];
        equal(tomb.title, 'to delete');
        equal(tomb.contentSha256, r.json.snapshot.contentSha256);
        equal(tomb.eventCount, r.json.snapshot.eventCount);
        equal(tomb.details.locked, true);
        ok(/^\d{19}$/.test(tomb.timeNs));
        deepEqual(c.json.chain, { verified: true, entries: 5, problems: [] });
        const whole = await api(server.url, '/api/v1/custody?limit=2', { token: READ_TOKEN });
        equal(whole.json.chain.verified, true, JSON.stringify(whole.json.chain));
        equal(whole.json.items.length, 2);
        ok(whole.json.total >= 8);
      });

      test('an alert replayed after its snapshot was deleted pins again', async () => {
        const payload = {
          alerts: [
            {
              status: 'firing',
              labels: { alertname: 'Replay', host_name: HOST },
              annotations: {},
              startsAt: new Date(start + 500).toISOString(),
              fingerprint: `fp-replay-${backend}`,
            },
          ],
        };
        const hook = () =>
          api(server.url, '/api/v1/hooks/grafana', { method: 'POST', token: HOOK_TOKEN, body: payload });
        const first = await hook();
        equal(first.status, 200, first.text);
        const id = first.json.pinned[0].snapshot.id;
        equal((await hook()).json.duplicates[0].snapshotId, id, 'a replay before deletion is a duplicate');
        equal((await api(server.url, `/api/v1/snapshots/${id}`, { method: 'DELETE' })).status, 204);
        const again = await hook();
        equal(again.json.pinned.length, 1, again.text);
        notEqual(again.json.pinned[0].snapshot.id, id);
        const c = (await api(server.url, `/api/v1/snapshots/${id}/custody`)).json;
        deepEqual(
          c.items.map((e: any) => [e.action, e.actor.token]),
          [
            ['auto-pin', 'alerts'],
            ['delete', TOKEN_NAME],
          ]
        );
      });

      test('custody entries land in Loki as snapshot.custody events', async () => {
        const client = new LokiClient({ url: loki.url });
        const window = { fromNs: msToNs(Date.now() - 60_000), toNs: msToNs(Date.now() + 60_000) };
        let got: CasefileEvent[] = [];
        for (let i = 0; i < 60; i++) {
          got = (await client.readAll({ types: ['snapshot.custody'] }, window)).filter(
            (e) => e.snapshotId === snap.id
          );
          if (got.length >= 3) break;
          await new Promise((r) => setTimeout(r, 300));
        }
        deepEqual(got.map((e) => e.custodyAction).sort(), ['export', 'export', 'pin']);
        const pin = got.find((e) => e.custodyAction === 'pin')!;
        equal(pin.loginUser, 'alice');
        equal(pin.tokenName, 'grafana');
        equal(pin.contentSha256, snap.contentSha256);
        const entries = (await api(server.url, `/api/v1/snapshots/${snap.id}/custody`)).json.items;
        equal(pin.custodyHash, entries[0].hash);
      });

      test("a store edited behind the server's back: the export refuses with 409 and a metric; the custody log refuses rewrites", async () => {
        const victim = (await pinAs(server.url, 'alice', 'tampered store', start, start + 1000)).json
          .snapshot;
        const before = await metric(
          server.url,
          /^casefile_server_evidence_mismatches_total\{reason="content_hash"\} (\d+)/m
        );
        const exec = async (sql: string, args: unknown[] = []) => {
          if (backend === 'sqlite') {
            const db = new Database(join(server.config.dataDir, 'casefile.db'));
            try {
              db.prepare(sql.replace(/\$\d+/g, '?')).run(...args);
            } finally {
              db.close();
            }
          } else {
            const c = new pg.Client({ connectionString: pgServer.dsn });
            await c.connect();
            try {
              await c.query(sql, args);
            } finally {
              await c.end();
            }
          }
        };
        // One pid changed in one stored event.
        await exec(
          'UPDATE events SET json = replace(json, \'"pid":1001\', \'"pid":6666\') WHERE snapshot_id = $1 AND pos = 1',
          [victim.id]
        );
        const r = await api(server.url, `/api/v1/snapshots/${victim.id}/package`);
        equal(r.status, 409, r.text);
        equal(r.json.error, 'evidence_mismatch');
        match(r.json.message, /changed behind the server/);
        equal(
          await metric(
            server.url,
            /^casefile_server_evidence_mismatches_total\{reason="content_hash"\} (\d+)/m
          ),
          before + 1
        );
        // The stored hash changed to match: the signed pin entry still tells.
        const forged = sha256Hex(
          (await api(server.url, `/api/v1/snapshots/${victim.id}/events?limit=5000`)).json.items
            .map((e: unknown) => canonicalJson(e) + '\n')
            .join('')
        );
        await exec('UPDATE snapshots SET content_sha256 = $1 WHERE id = $2', [forged, victim.id]);
        const r2 = await api(server.url, `/api/v1/snapshots/${victim.id}/package`);
        equal(r2.status, 409, r2.text);
        match(r2.json.message, /differs from what was signed when it was pinned/);
        // The custody log: a rewrite is refused by the store; past the trigger, the chain shows it.
        const rewrite =
          'UPDATE custody_log SET entry_json = replace(entry_json, \'"alice"\', \'"mallory"\') WHERE snapshot_id = $1';
        await exec(rewrite, [victim.id]).then(
          () => ok(false, 'the custody log accepted an UPDATE'),
          (err) => match(String(err.message), /append-only/)
        );
        await exec('DELETE FROM custody_log WHERE snapshot_id = $1', [victim.id]).then(
          () => ok(false, 'the custody log accepted a DELETE'),
          (err) => match(String(err.message), /append-only/)
        );
        await exec(
          backend === 'sqlite'
            ? 'DROP TRIGGER custody_no_update'
            : 'DROP TRIGGER custody_no_change ON custody_log'
        );
        await exec(rewrite, [victim.id]);
        const c = (await api(server.url, `/api/v1/snapshots/${victim.id}/custody`)).json;
        equal(c.items[0].actor.grafanaUser, 'mallory');
        equal(c.chain.verified, false);
        match(c.chain.problems.join(), /hash does not match its content/);
        equal((await api(server.url, '/api/v1/custody')).json.chain.verified, false);
        const r3 = await api(server.url, `/api/v1/snapshots/${victim.id}/package`);
        equal(r3.status, 409);
        match(r3.json.message, /custody log no longer verifies/);
      });

      if (backend === 'sqlite')
        test('tampering: every single-byte change to every file, a re-zipped package with recomputed hashes, a forged manifest', async () => {
          // A small snapshot (5 events), exported twice: every byte of the second export is changed in turn.
          const small = (await pinAs(server.url, 'alice', 'small', start, start + 5)).json.snapshot;
          equal(small.eventCount, 5);
          let zip: Buffer = Buffer.alloc(0);
          for (const user of ['bob', 'carol'])
            zip = (
              await api(server.url, `/api/v1/snapshots/${small.id}/package`, {
                token: GRAFANA_TOKEN,
                headers: { 'x-grafana-user': user },
              })
            ).buffer;
          const genuine = await unzip(zip);
          const key = (await api(server.url, '/api/v1/signing-key')).json.publicKeyPem;
          equal(verifyPackage(genuine, { trustedKeyPem: key }).ok, true);
          // Every byte of every file, each changed to another value (XOR 0x20: case, space/NUL, digits to other bytes).
          let tampered = 0;
          let rejected = 0;
          const accepted: string[] = [];
          for (const [name, bytes] of genuine) {
            for (let i = 0; i < bytes.length; i++) {
              const copy = Buffer.from(bytes);
              copy[i] ^= 0x20;
              const files = new Map(genuine);
              files.set(name, copy);
              tampered++;
              if (!verifyPackage(files, { trustedKeyPem: key }).ok) rejected++;
              else accepted.push(`${name}@${i}`);
            }
          }
          console.log(`single-byte changes: ${tampered} tampered, ${rejected} rejected`);
          deepEqual(accepted, []);
          equal(rejected, tampered);

          // Re-zipped with recomputed hashes: a pid changed in events.jsonl and events.csv, every hash redone.
          const files = new Map(genuine);
          const edit = (f: string, from: string, to: string) => {
            const t = files.get(f)!.toString();
            ok(t.includes(from), `${f} holds ${from}`);
            files.set(f, Buffer.from(t.replace(from, to)));
          };
          edit('events.jsonl', '"pid":1001', '"pid":1337');
          edit('events.csv', '1001', '1337');
          const content = sha256Hex(files.get('events.jsonl')!);
          const rec = JSON.parse(files.get('snapshot.json')!.toString());
          rec.contentSha256 = content;
          files.set('snapshot.json', Buffer.from(JSON.stringify(rec, null, 2) + '\n'));
          const man = JSON.parse(files.get('manifest.json')!.toString());
          man.contentSha256 = content;
          for (const f of Object.keys(man.files))
            man.files[f] = { sha256: sha256Hex(files.get(f)!), bytes: files.get(f)!.length };
          man.evidenceSha256 = sha256Hex(
            canonicalJson(Object.fromEntries(man.evidenceFiles.map((f: string) => [f, man.files[f]])))
          );
          files.set('manifest.json', Buffer.from(JSON.stringify(man, null, 2) + '\n'));
          const rezipped = join(dir, 'rezipped.zip');
          writeFileSync(rezipped, await zipFiles(files));
          const v = await verifyCli(rezipped, keyFile);
          equal(v.code, 1, v.out);
          match(v.out, /manifest\.sig is not a signature of manifest\.json/);
          console.log(`--- verifier on a tampered (re-zipped, hashes recomputed) package ---\n${v.out}`);

          // Forged: the same edit signed with the forger's own key, carried in the package.
          const { generateKeyPairSync, sign } = await import('node:crypto');
          const forger = generateKeyPairSync('ed25519');
          const forgerPem = forger.publicKey.export({ type: 'spki', format: 'pem' }).toString();
          files.set('public-key.pem', Buffer.from(forgerPem));
          man.files['public-key.pem'] = { sha256: sha256Hex(forgerPem), bytes: Buffer.byteLength(forgerPem) };
          const manBytes = Buffer.from(JSON.stringify(man, null, 2) + '\n');
          files.set('manifest.json', manBytes);
          files.set('manifest.sig', sign(null, manBytes, forger.privateKey));
          const forgedZip = join(dir, 'forged.zip');
          writeFileSync(forgedZip, await zipFiles(files));
          const f = await verifyCli(forgedZip, keyFile);
          equal(f.code, 1, f.out);
          match(f.out, /carries key ed25519:[0-9a-f]+, not the trusted key/);
          // Without the trusted key the forgery still fails: its custody entries are the server's, not the forger's.
          const f2 = await verifyCli(forgedZip);
          equal(f2.code, 1, f2.out);
          match(f2.out, /signature is not the signing key's/);

          // The zip itself: a systematic sample of single-byte changes (48 positions evenly spread), each through the CLI.
          let zt = 0;
          let zr = 0;
          let metadataOnly = 0;
          const stride = Math.ceil(zip.length / 48);
          for (let i = 0; i < zip.length; i += stride) {
            const copy = Buffer.from(zip);
            copy[i] ^= 0x20;
            const p = join(dir, `zip-byte-${i}.zip`);
            writeFileSync(p, copy);
            zt++;
            const r = await verifyCli(p, keyFile);
            if (r.code === 1) zr++;
            else {
              // Accepted: only zip bookkeeping changed (times, attributes), never a byte of a file.
              const back = await unzip(copy);
              ok(
                [...genuine].every(([n, b]) => back.get(n)?.equals(b)),
                `zip byte ${i}: contents changed yet accepted`
              );
              metadataOnly++;
            }
          }
          console.log(
            `zip-level sample: ${zt} tampered, ${zr} rejected, ${metadataOnly} changed only zip metadata (contents identical)`
          );
          ok(zr > 0);
        });
    });
  }
});
