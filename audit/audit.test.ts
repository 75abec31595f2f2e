import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCompose } from '../bootstrap/compose.js';
import {
  copyFixture,
  FIXTURES_DIR,
  fixtureNames,
  GOLDEN_FINDINGS,
  plantedProblems,
} from '../bootstrap/fixture-stacks.js';
import { formatJson, formatText } from './format.js';
import { audit, RULES } from './index.js';
import { entropyBits, isSecretKey, weakness } from './secrets.js';

async function findingsOf(files: Record<string, string>, modes: Record<string, number> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'watchpost-audit-')), 'app');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  for (const [name, mode] of Object.entries(modes)) chmodSync(join(dir, name), mode);
  return audit(await readCompose({ files: [], cwd: dir, env: {} }));
}

describe('audit of the fixture stacks', () => {
  for (const name of fixtureNames()) {
    it(`${name}: findings equal the golden ${GOLDEN_FINDINGS} (npm run gen:goldens regenerates it)`, async () => {
      const dir = copyFixture(name);
      const findings = audit(await readCompose({ files: [], cwd: dir, env: {} }));
      assert.equal(formatJson(findings), readFileSync(join(FIXTURES_DIR, name, GOLDEN_FINDINGS), 'utf8'));
    });
    it(`${name}: every planted problem is reported on its line`, async () => {
      const dir = copyFixture(name);
      const findings = audit(await readCompose({ files: [], cwd: dir, env: {} }));
      const planted = plantedProblems(dir);
      if (name !== 'clean') assert.ok(planted.length >= 5, `${name} plants at least 5 problems`);
      for (const p of planted) {
        assert.ok(
          findings.some((f) => f.rule === p.rule && f.file === p.file && f.line === p.line),
          `${name}: expected ${p.rule} at ${p.file}:${p.line}; got there: ${JSON.stringify(
            findings.filter((f) => f.file === p.file && f.line === p.line),
          )}`,
        );
      }
      // Every error the audit finds in a fixture was planted on purpose.
      for (const f of findings.filter((x) => x.severity === 'error')) {
        assert.ok(
          planted.some((p) => p.rule === f.rule && p.file === f.file && p.line === f.line),
          `${name}: unplanted error ${JSON.stringify(f)}`,
        );
      }
    });
  }

  it('the clean stack has no finding at all, and every rule fires somewhere in the fixtures', async () => {
    const clean = audit(await readCompose({ files: [], cwd: copyFixture('clean'), env: {} }));
    assert.deepEqual(clean, []);
    const fired = new Set<string>();
    for (const name of fixtureNames())
      for (const f of audit(await readCompose({ files: [], cwd: copyFixture(name), env: {} })))
        fired.add(f.rule);
    // The secret-file rule is exercised below (git keeps no modes for a planted one).
    const missing = RULES.map((r) => r.id).filter((id) => !fired.has(id) && id !== 'secret-file-permissions');
    assert.deepEqual(missing, []);
  });
});

describe('audit rules', () => {
  it('weak secrets: what is weak, and the value is never in the message', () => {
    assert.equal(weakness('Vq3wR8tY1uI4oP7aS0dF2gH5jK9lZ6xC', 'DB_PASSWORD', 'db'), undefined);
    assert.match(weakness('admin', 'X_PASSWORD', null)!, /well-known/);
    assert.match(weakness('MyChangeMe2024!!xx', 'X_PASSWORD', null)!, /placeholder/);
    assert.match(weakness('webhook', 'TOKEN', 'webhook')!, /well-known|service's name/);
    assert.match(weakness('Tr0ub4dor&3', 'X_SECRET', null)!, /11 characters long/);
    assert.match(weakness('abababababababababab', 'X_SECRET', null)!, /low entropy/);
    assert.ok(entropyBits('abababababababababab') < 64);
    for (const k of [
      'DB_PASSWORD',
      'JWT_SIGNING',
      'API_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'STREAM_KEY',
      'SMTP_PASS',
      'SECRET_KEY',
    ])
      assert.ok(isSecretKey(k), k);
    for (const k of [
      'DB_PASSWORD_FILE',
      'KEYCLOAK_URL',
      'PASSENGER',
      'MONKEY',
      'DB_USER',
      'WATCHPOST_SECRETS_GID',
      'SECRETS_DIR',
      'TOKEN_UID',
    ])
      assert.ok(!isSecretKey(k), k);
  });

  it('a weak secret read from .env is reported on the .env line, once, without its value', async () => {
    const findings = await findingsOf(
      {
        'compose.yaml': `services:
  a: { image: "x:1", environment: { DB_PASSWORD: "\${PW}" } }
  b: { image: "x:1", environment: { DB_PASSWORD: "\${PW}" } }
`,
        '.env': '# c\nPW=hunter2\n',
      },
      { '.env': 0o600 },
    );
    const weak = findings.filter((f) => f.rule === 'weak-secret');
    assert.deepEqual(
      weak.map((f) => [f.file, f.line, f.service]),
      [['.env', 2, 'a']],
    );
    assert.doesNotMatch(JSON.stringify(findings), /hunter2/);
  });

  it('secret files: 0600 passes, readable by others fails, 0640 only in watchpost/secrets/', async () => {
    const files = {
      'compose.yaml': `services:
  a: { image: "x:1", secrets: [s1, s2, s3, s4] }
secrets:
  s1: { file: ./secrets/ok }
  s2: { file: ./secrets/world }
  s3: { file: ./secrets/group }
  s4: { file: ./watchpost/secrets/metrics_token }
`,
      'secrets/ok': 'x',
      'secrets/world': 'x',
      'secrets/group': 'x',
      'watchpost/secrets/metrics_token': 'x',
    };
    const findings = await findingsOf(files, {
      'secrets/ok': 0o600,
      'secrets/world': 0o644,
      'secrets/group': 0o640,
      'watchpost/secrets/metrics_token': 0o640,
      'watchpost/secrets': 0o700,
    });
    assert.deepEqual(
      findings.filter((f) => f.rule === 'secret-file-permissions').map((f) => [f.line, f.message]),
      [
        [5, 'secret "s2" (secrets/world) is readable by everyone (mode 0644)'],
        [6, 'secret "s3" (secrets/group) is readable by its group (mode 0640)'],
      ],
    );
  });

  it('secret files: watchpost/secrets/ looser than 0700 is an error, named once on the first secret', async () => {
    const files = {
      'compose.yaml': `services:
  a: { image: "x:1", secrets: [m, n] }
secrets:
  m: { file: ./watchpost/secrets/metrics_token }
  n: { file: ./watchpost/secrets/notifier_token }
`,
      'watchpost/secrets/metrics_token': 'x',
      'watchpost/secrets/notifier_token': 'x',
    };
    const modes = {
      'watchpost/secrets/metrics_token': 0o640,
      'watchpost/secrets/notifier_token': 0o640,
    };
    const of = async (folder: number) =>
      (await findingsOf(files, { ...modes, 'watchpost/secrets': folder }))
        .filter((f) => f.rule === 'secret-file-permissions')
        .map((f) => [f.severity, f.line, f.message]);
    assert.deepEqual(await of(0o755), [
      [
        'error',
        4,
        'the secrets folder watchpost/secrets/ can be entered by everyone (mode 0755): chmod 700 it',
      ],
    ]);
    assert.deepEqual(await of(0o750), [
      [
        'error',
        4,
        'the secrets folder watchpost/secrets/ can be entered by its group (mode 0750): chmod 700 it',
      ],
    ]);
    assert.deepEqual(await of(0o700), []);
  });

  it('ports: internal services on all interfaces are errors, on loopback fine; others without a host IP are info', async () => {
    const findings = await findingsOf({
      'compose.yaml': `services:
  db:
    image: "postgres:16"
    ports: ["127.0.0.1:5432:5432", "0.0.0.0:5433:5432"]
  dind:
    image: "acme/tool:1"
    ports: ["2375:2375"]
  web:
    image: "nginx:1"
    ports: ["80:80", "0.0.0.0:443:443"]
`,
    });
    const ports = findings.filter((f) => f.rule.includes('port'));
    assert.deepEqual(
      ports.map((f) => [f.rule, f.line, f.severity]),
      [
        ['internal-port-published', 4, 'error'],
        ['internal-port-published', 7, 'error'],
        ['port-no-host-ip', 10, 'info'],
      ],
    );
  });

  it('one-shot jobs get no healthcheck or restart findings; a merged override is reported in its own file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'watchpost-audit-')), 'app');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'compose.yaml'),
      'services:\n  job: { image: "x:1", restart: "no" }\n  web: { image: "x:1", restart: always }\n',
    );
    writeFileSync(join(dir, 'prod.yml'), 'services:\n  web:\n    privileged: true\n');
    const findings = audit(await readCompose({ files: ['compose.yaml', 'prod.yml'], cwd: dir, env: {} }));
    assert.ok(!findings.some((f) => f.service === 'job' && /healthcheck|restart/.test(f.rule)));
    assert.deepEqual(
      findings.filter((f) => f.rule === 'privileged').map((f) => [f.file, f.line]),
      [['prod.yml', 3]],
    );
  });
});

describe('output', () => {
  const findings = [
    {
      severity: 'error' as const,
      rule: 'privileged',
      file: 'c.yml',
      line: 3,
      service: 'web',
      message: 'runs privileged',
    },
    { severity: 'info' as const, rule: 'no-user', file: 'c.yml', line: 2, service: null, message: 'x' },
  ];
  it('JSON has exactly the keys the issue gives, and ok is false with an error', () => {
    const out = JSON.parse(formatJson(findings)) as { ok: boolean; findings: Record<string, unknown>[] };
    assert.equal(out.ok, false);
    assert.deepEqual(Object.keys(out), ['ok', 'findings']);
    assert.deepEqual(Object.keys(out.findings[0]!), [
      'severity',
      'rule',
      'file',
      'line',
      'service',
      'message',
    ]);
    assert.equal(JSON.parse(formatJson([findings[1]!])).ok, true);
  });
  it('text groups by service, says why and how to fix, and colours only when asked', () => {
    const plain = formatText(findings, { colour: false, title: 'c.yml' });
    assert.match(plain, /c\.yml: 1 error, 0 warnings, 1 info/);
    assert.match(plain, /project files\n {2}info {4}c\.yml:2 {2}x {2}\[no-user\]/);
    assert.match(
      plain,
      /service web\n {2}error {3}c\.yml:3 {2}runs privileged {2}\[privileged\]\n {10}why: A privileged/,
    );
    assert.ok(!plain.includes('\u001b['));
    assert.ok(formatText(findings, { colour: true, title: 'c.yml' }).includes('\u001b[31merror'));
  });
});
