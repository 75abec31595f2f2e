import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText } from '../config/load.js';
import { readCompose } from './compose.js';
import { detect, renderWatchpostConfig } from './detect.js';
import { copyFixture, FIXTURES_DIR, fixtureNames, GOLDEN_CONFIG } from './fixture-stacks.js';

async function project(files: Record<string, string>, env: Record<string, string> = {}) {
  const dir = join(copyFixture('clean'), '..', 'inline');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return readCompose({ files: [], cwd: dir, env });
}

describe('renderWatchpostConfig on the fixture stacks', () => {
  for (const name of fixtureNames()) {
    it(`${name}: equals the golden ${GOLDEN_CONFIG} (npm run gen:goldens regenerates it) and loads`, async () => {
      const dir = copyFixture(name);
      const text = renderWatchpostConfig(await readCompose({ files: [], cwd: dir, env: {} }));
      assert.equal(text, readFileSync(join(FIXTURES_DIR, name, GOLDEN_CONFIG), 'utf8'));
      // The existing loader accepts it as it is: strict schema, unknown keys are errors.
      const config = parseConfigText(text, GOLDEN_CONFIG, {}, dir);
      assert.ok(config.collectors.containers.expected.length > 0);
    });
  }
});

describe('detectors', () => {
  it('CCTV: MediaMTX with the API gotcha, the mosaic as an FFmpeg group and its streams, MinIO, rclone', async () => {
    const text = renderWatchpostConfig(await readCompose({ files: [], cwd: copyFixture('cctv'), env: {} }));
    const config = parseConfigText(text, 'w.yml', {}, '/');
    assert.deepEqual(
      config.collectors.streams.servers.map((s) => [s.name, s.kind, s.url]),
      [['mediamtx', 'mediamtx', 'http://mediamtx:9997']],
    );
    assert.match(text, /only 127\.0\.0\.1 and ::1 by default/);
    assert.match(text, /permissions: \[\{ action: api \}\]/);
    assert.deepEqual(
      config.collectors.streams.expected.map((e) => e.stream),
      ['cam1', 'cam2', 'mosaic'],
    );
    const [group] = config.collectors.ffmpeg.groups;
    assert.equal(group?.name, 'mosaic');
    assert.ok(new RegExp(group!.match).test('ffmpeg -i x -f rtsp rtsp://mediamtx:8554/mosaic'));
    assert.ok(!new RegExp(group!.match).test('ffmpeg -i rtsp://mediamtx:8554/cam1 -f null -'));
    const deps = Object.fromEntries(
      config.collectors.dependencies.targets.map((t) => [t.name, t.kind === 'tcp' ? t.address : t.url]),
    );
    assert.equal(deps.minio, 'http://minio:9000/minio/health/live');
    assert.equal(deps.backend, 'http://backend:8080/api/health');
    assert.match(text, /# - \{ name: s3-sync, marker: "\/state\/last-success", max_age: "2h" \}/);
  });

  it('one-shot jobs, restart "no" and profiles are left out of the expected containers, with the reason', async () => {
    const p = await project({
      'compose.yaml': `services:
  app: { image: "app:1", restart: always }
  migrate: { image: "app:1", command: ./manage.py migrate }
  web:
    image: "app:1"
    depends_on: { migrate: { condition: service_completed_successfully } }
  once: { image: "app:1", restart: "no" }
  debug: { image: "adminer:4", profiles: [debug] }
`,
    });
    const containers = detect(p).filter((c) => c.section === 'containers.expected');
    assert.deepEqual(
      containers.filter((c) => c.item).map((c) => c.service),
      ['app', 'web'],
    );
    const why = Object.fromEntries(containers.filter((c) => !c.item).map((c) => [c.service, c.comment[0]]));
    assert.match(why.migrate!, /one-shot job \(web waits for it to complete\)/);
    assert.match(why.once!, /restart "no"/);
    assert.match(why.debug!, /profile debug/);
  });

  it('databases as TCP probes on the port they declare, credentials never copied', async () => {
    const p = await project({
      'compose.yaml': `services:
  pg: { image: "postgis/postgis:16-3.4", environment: { POSTGRES_PASSWORD: hunter2hunter2hunter2 } }
  cache: { image: "valkey/valkey:7.2" }
  maria: { image: "mariadb:11", expose: ["3307"] }
  queue: { image: "rabbitmq:3-management" }
`,
    });
    const text = renderWatchpostConfig(p);
    const config = parseConfigText(text, 'w.yml', {}, '/');
    assert.deepEqual(
      config.collectors.dependencies.targets.map((t) => [
        t.name,
        t.kind,
        t.kind === 'tcp' ? t.address : t.url,
      ]),
      [
        ['pg', 'tcp', 'pg:5432'],
        ['cache', 'tcp', 'cache:6379'],
        ['maria', 'tcp', 'maria:3307'],
        ['queue', 'tcp', 'queue:5672'],
      ],
    );
    assert.doesNotMatch(text, /hunter2/);
  });

  it('an FFmpeg URL with credentials never reaches the file', async () => {
    const p = await project({
      'compose.yaml': `services:
  mtx: { image: "bluenviron/mediamtx:1" }
  cam: { image: "linuxserver/ffmpeg:7", command: "-i rtsp://admin:Sup3rSecret@10.0.0.5/live -c copy -f rtsp rtsp://pub:Pa55word@mtx:8554/cam1" }
`,
    });
    const text = renderWatchpostConfig(p);
    assert.doesNotMatch(text, /Sup3rSecret|Pa55word|admin:|pub:/);
    const config = parseConfigText(text, 'w.yml', {}, '/');
    assert.deepEqual(
      config.collectors.streams.expected.map((e) => e.stream),
      ['cam1'],
    );
  });

  it('a project where nothing is recognised still gives a valid file', async () => {
    const p = await project({ 'compose.yaml': 'services:\n  job: { image: "busybox:1", restart: "no" }\n' });
    const text = renderWatchpostConfig(p, { sections: 'exporter:\n  listen: 0.0.0.0:9850' });
    const config = parseConfigText(text, 'w.yml', {}, '/');
    assert.equal(config.exporter.listen, '0.0.0.0:9850');
    assert.deepEqual(config.collectors.containers.expected, []);
  });
});
