import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ComposeError, normalizeProjectName, readCompose, type ComposeProject } from './compose.js';
import { interpolateString } from './interpolate.js';

function stack(files: Record<string, string>, folder = 'my_App.1'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'watchpost-compose-')), folder);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function read(
  files: Record<string, string>,
  opts: { files?: string[]; env?: Record<string, string> } = {},
) {
  const cwd = stack(files);
  return readCompose({ files: opts.files ?? [], cwd, env: opts.env ?? {} });
}

async function error(files: Record<string, string>, opts: { files?: string[] } = {}): Promise<ComposeError> {
  try {
    await read(files, opts);
  } catch (err) {
    assert.ok(err instanceof ComposeError, `expected a ComposeError, got ${(err as Error).stack}`);
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
    return err;
  }
  assert.fail('expected a ComposeError');
}

const svc = (p: ComposeProject, name: string) => p.services.find((s) => s.name === name)!;

describe('interpolation, as compose does it', () => {
  const env: Record<string, string> = { SET: 'value', EMPTY: '' };
  const lookup = (n: string) => (n in env ? { value: env[n]! } : undefined);
  const cases: [string, string][] = [
    ['${SET}', 'value'],
    ['$SET/x', 'value/x'],
    ['${UNSET:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${UNSET-def}', 'def'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET:-${SET}}', 'value'],
    ['$$SET', '$SET'],
    ['cost: 5$', 'cost: 5$'],
    ['${UNSET}', ''],
  ];
  for (const [text, want] of cases) {
    it(`${text} → ${JSON.stringify(want)}`, () => {
      const r = interpolateString(text, lookup);
      assert.equal(r.value, want);
      assert.deepEqual(r.errors, []);
    });
  }
  it('${VAR:?message} fails with the message when unset or empty; ${VAR?message} only when unset', () => {
    assert.match(interpolateString('${UNSET:?set it}', lookup).errors[0]!, /required variable UNSET.*set it/);
    assert.match(interpolateString('${EMPTY:?set it}', lookup).errors[0]!, /EMPTY/);
    assert.deepEqual(interpolateString('${EMPTY?set it}', lookup).errors, []);
  });
  it('an unset variable without a default is reported as a warning', () => {
    assert.deepEqual(interpolateString('a ${UNSET} b', lookup).unset, ['UNSET']);
  });
  it('a malformed reference is an error', () => {
    assert.match(interpolateString('${1BAD}', lookup).errors[0]!, /not a variable name/);
    assert.match(interpolateString('${OPEN', lookup).errors[0]!, /no closing/);
  });
});

describe('readCompose', () => {
  it('finds the default file name, reads .env, lets the shell win, and keeps the line of every value', async () => {
    const p = await read(
      {
        'docker-compose.yml': `services:
  web:
    image: "nginx:\${TAG:-1.25}"
    environment:
      PASSWORD: \${PASS}
      SHELL_WINS: \${FROM_BOTH}
`,
        '.env': '# comment\nPASS=from-dotenv\nFROM_BOTH=dotenv\n',
      },
      { env: { FROM_BOTH: 'shell' } },
    );
    const web = svc(p, 'web');
    assert.equal(web.image?.value, 'nginx:1.25');
    assert.deepEqual(web.image?.pos, { file: 'docker-compose.yml', line: 3, column: 12 });
    const [pass, both] = web.environment;
    assert.equal(pass?.value, 'from-dotenv');
    assert.equal(pass?.pos.line, 5);
    assert.deepEqual(pass?.via, { file: '.env', line: 2, column: 1 });
    assert.equal(both?.value, 'shell');
    assert.equal(both?.via, undefined);
  });

  it('prefers compose.yaml over docker-compose.yml, as compose does', async () => {
    const p = await read({
      'docker-compose.yml': 'services: { old: { image: "a:1" } }\n',
      'compose.yaml': 'services: { new: { image: "a:1" } }\n',
    });
    assert.deepEqual(
      p.services.map((s) => s.name),
      ['new'],
    );
  });

  it('derives the project name: name:, then COMPOSE_PROJECT_NAME (shell or .env), then the folder, normalised', async () => {
    assert.equal((await read({ 'compose.yaml': 'name: Shop-1\nservices: {}\n' })).name, 'shop-1');
    const fromEnv = await read({
      'compose.yaml': 'services: {}\n',
      '.env': 'COMPOSE_PROJECT_NAME=fromdotenv\n',
    });
    assert.equal(fromEnv.name, 'fromdotenv');
    assert.equal(fromEnv.nameSource, 'COMPOSE_PROJECT_NAME');
    const folder = await read({ 'compose.yaml': 'services: {}\n' });
    assert.equal(folder.name, 'my_app1');
    assert.equal(folder.nameSource, 'directory');
    assert.equal(normalizeProjectName('_-My App!'), 'myapp');
  });

  it('merges several files as compose does, each value keeping the file and line it came from', async () => {
    const p = await read(
      {
        'compose.yaml': `services:
  web:
    image: "app:1"
    command: ["serve", "--a"]
    ports: ["8080:80"]
    environment: [A=1, B=2]
    volumes: ["./data:/data", "logs:/logs"]
    cap_add: [NET_BIND_SERVICE]
`,
        'override.yml': `services:
  web:
    image: "app:2"
    command: serve --b
    ports: ["127.0.0.1:9090:9090"]
    environment:
      B: "3"
    volumes: ["./other:/data:ro"]
    cap_add: [NET_BIND_SERVICE, SYS_TIME]
  extra:
    image: "busybox:1"
`,
      },
      { files: ['compose.yaml', 'override.yml'] },
    );
    const web = svc(p, 'web');
    assert.equal(web.image?.value, 'app:2');
    assert.equal(web.image?.pos.file, 'override.yml');
    assert.deepEqual(web.command?.value, ['serve', '--b']);
    assert.deepEqual(
      web.ports.map((x) => [x.text, x.pos.file, x.pos.line]),
      [
        ['8080:80', 'compose.yaml', 5],
        ['127.0.0.1:9090:9090', 'override.yml', 5],
      ],
    );
    assert.deepEqual(
      web.environment.map((e) => [e.key, e.value, e.pos.file]),
      [
        ['A', '1', 'compose.yaml'],
        ['B', '3', 'override.yml'],
      ],
    );
    assert.deepEqual(
      web.volumes.map((v) => [v.target, v.source, v.readOnly, v.pos.file]),
      [
        ['/data', './other', true, 'override.yml'],
        ['/logs', 'logs', false, 'compose.yaml'],
      ],
    );
    assert.deepEqual(
      web.capAdd.map((c) => c.value),
      ['NET_BIND_SERVICE', 'SYS_TIME'],
    );
    assert.equal(web.pos.file, 'compose.yaml');
    assert.deepEqual(
      p.services.map((s) => s.name),
      ['web', 'extra'],
    );
  });

  it("expands anchors and << merges; a value from an anchor keeps the anchor's line", async () => {
    const p = await read({
      'compose.yaml': `x-base: &base
  restart: unless-stopped
  mem_limit: 256m
services:
  a:
    <<: *base
    image: "a:1"
  b:
    <<: *base
    restart: always
    image: "b:1"
`,
    });
    assert.equal(svc(p, 'a').restart?.value, 'unless-stopped');
    assert.equal(svc(p, 'a').restart?.pos.line, 2);
    assert.equal(svc(p, 'b').restart?.value, 'always');
    assert.equal(svc(p, 'b').memLimit?.value, '256m');
  });

  it('reads ports in every form, with their host address', async () => {
    const p = await read({
      'compose.yaml': `services:
  s:
    image: "a:1"
    ports:
      - "80"
      - "8080:80"
      - "127.0.0.1:8081:81"
      - "[::1]:8082:82/udp"
      - "127.0.0.1::83"
      - "9000-9001:9000-9001"
      - { target: 84, published: "8084", host_ip: 0.0.0.0 }
`,
    });
    assert.deepEqual(
      svc(p, 's').ports.map((x) => [x.target, x.published, x.hostIp, x.protocol]),
      [
        [80, undefined, undefined, 'tcp'],
        [80, '8080', undefined, 'tcp'],
        [81, '8081', '127.0.0.1', 'tcp'],
        [82, '8082', '::1', 'udp'],
        [83, '', '127.0.0.1', 'tcp'],
        [9000, '9000-9001', undefined, 'tcp'],
        [84, '8084', '0.0.0.0', 'tcp'],
      ],
    );
  });

  it('reads env_file entries with their own file and line; environment: wins', async () => {
    const p = await read({
      'compose.yaml':
        'services:\n  s:\n    image: "a:1"\n    env_file: [app.env]\n    environment: { B: override }\n',
      'app.env': 'A=1\n# c\nexport B=2\nC="quoted # not a comment"\nD=plain # a comment\n',
    });
    assert.deepEqual(
      svc(p, 's').environment.map((e) => [e.key, e.value, e.pos.file, e.pos.line]),
      [
        ['B', 'override', 'compose.yaml', 5],
        ['A', '1', 'app.env', 1],
        ['C', 'quoted # not a comment', 'app.env', 4],
        ['D', 'plain', 'app.env', 5],
      ],
    );
  });
});

describe('readCompose on broken input: file:line and the key, never a stack trace', () => {
  it('no compose file in the folder', async () => {
    const e = await error({ 'README.md': 'x' });
    assert.match(
      e.message,
      /no compose file found: looked for compose\.yaml, compose\.yml, docker-compose\.yml/,
    );
  });
  it('a missing named file', async () => {
    const e = await error({ 'compose.yaml': 'services: {}\n' }, { files: ['nope.yml'] });
    assert.match(e.message, /^nope\.yml: file does not exist$/);
  });
  it('invalid YAML', async () => {
    const e = await error({ 'compose.yaml': 'services:\n  web:\n    image: "a\n  bad: [\n' });
    assert.match(e.message, /^compose\.yaml:\d+:\d+: invalid YAML: /);
  });
  it('a duplicate key', async () => {
    const e = await error({ 'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' });
    assert.match(e.message, /compose\.yaml:4:5: invalid YAML: Map keys must be unique/);
  });
  it('an unknown key, with a suggestion', async () => {
    const e = await error({ 'compose.yaml': 'services:\n  web:\n    image: a\n    prots: ["80:80"]\n' });
    assert.equal(
      e.message,
      'compose.yaml:4:5: services.web.prots: unknown key "prots" (did you mean "ports"?) (extension keys start with "x-")',
    );
  });
  it('an unknown top-level key', async () => {
    const e = await error({ 'compose.yaml': 'services: {}\nservice:\n  web: {}\n' });
    assert.match(
      e.message,
      /^compose\.yaml:2:1: service: unknown key "service" \(did you mean "services"\?\)/,
    );
  });
  it('wrong types', async () => {
    const e = await error({
      'compose.yaml': `services:
  web:
    image: [a]
    ports: "80:80"
    privileged: maybe
    environment: 5
    pids_limit: lots
    volumes: [{ type: bind }]
`,
    });
    assert.deepEqual(e.message.split('\n'), [
      'compose.yaml:3:12: services.web.image: expected a string',
      'compose.yaml:4:12: services.web.ports: expected a list of ports',
      'compose.yaml:5:17: services.web.privileged: expected true or false',
      'compose.yaml:6:18: services.web.environment: expected a mapping or a list of KEY=VALUE',
      'compose.yaml:7:17: services.web.pids_limit: expected a whole number',
      'compose.yaml:8:15: services.web.volumes.0: expected "target": the path inside the container',
    ]);
  });
  it('services that are not a mapping; a top level that is a list; an empty file', async () => {
    assert.match(
      (await error({ 'compose.yaml': 'services: [web]\n' })).message,
      /compose\.yaml:1:11: services: expected a mapping of services/,
    );
    assert.match(
      (await error({ 'compose.yaml': '- a\n- b\n' })).message,
      /compose\.yaml:1:1: expected a mapping with "services:"/,
    );
    assert.match((await error({ 'compose.yaml': '' })).message, /compose\.yaml: is empty/);
  });
  it('a bad port and a required variable that is not set', async () => {
    const e = await error({
      'compose.yaml':
        'services:\n  web:\n    image: a\n    ports: ["80:http"]\n    environment:\n      X: ${NEED:?set NEED in .env}\n',
    });
    assert.deepEqual(e.message.split('\n'), [
      'compose.yaml:6:10: services.web.environment.X: required variable NEED is missing a value: set NEED in .env',
    ]);
    const p = await error({ 'compose.yaml': 'services:\n  web:\n    image: a\n    ports: ["80:http"]\n' });
    assert.match(p.message, /compose\.yaml:4:13: services\.web\.ports\.0: expected a port such as "8080:80"/);
  });
  it('an alias bomb is refused quickly, without expanding it', async () => {
    const lines = ['x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const letters = 'abcdefghij';
    for (let i = 1; i < letters.length; i++) {
      const prev = letters[i - 1];
      lines.push(`x-${letters[i]}: &${letters[i]} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    lines.push('services:\n  web: { image: "a:1" }');
    const started = process.hrtime.bigint();
    const e = await error({ 'compose.yaml': `${lines.join('\n')}\n` });
    assert.match(e.message, /compose\.yaml:\d+:\d+: .*alias bomb/);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 30);
  });
  it('a 10 MB file is refused before it is parsed', async () => {
    const big = `services:\n  web:\n    image: a\n${'# padding\n'.repeat(1_100_000)}`;
    const e = await error({ 'compose.yaml': big });
    assert.match(e.message, /^compose\.yaml: is 10\.\d MiB; files above 4 MiB are refused/);
  });
  it('a directory, a FIFO: refused without reading (a FIFO would block)', async (t) => {
    const dir = stack({ 'compose.yaml': 'services: {}\n' });
    mkdirSync(join(dir, 'adir'));
    await assert.rejects(readCompose({ files: ['adir'], cwd: dir, env: {} }), /adir: is a directory/);
    try {
      execFileSync('mkfifo', [join(dir, 'fifo.yml')]);
    } catch {
      t.skip('mkfifo not available');
      return;
    }
    await assert.rejects(
      readCompose({ files: ['fifo.yml'], cwd: dir, env: {} }),
      /fifo\.yml: is not a regular file/,
    );
  });
  it('fuzz: random mutations of a valid file give a result or a ComposeError, nothing else', async () => {
    const base = `name: fuzz
x-h: &h { restart: always, mem_limit: 64m }
services:
  web:
    <<: *h
    image: "nginx:1.27"
    ports: ["127.0.0.1:8080:80", { target: 443, published: "8443" }]
    environment: { A: "\${A:-1}", PASSWORD: x }
    volumes: ["./a:/a:ro", { type: bind, source: /var/run/docker.sock, target: /s }]
    healthcheck: { test: ["CMD", "true"], interval: 5s }
    depends_on: { db: { condition: service_healthy } }
  db: { image: "postgres:16", env_file: [] }
`;
    const dir = stack({ 'compose.yaml': base });
    const chars = [
      '{',
      '}',
      '[',
      ']',
      ':',
      '-',
      '*',
      '&',
      '"',
      "'",
      '\n',
      ' ',
      '#',
      '$',
      '<<',
      '\t',
      '0',
      '|',
    ];
    let seed = 42;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    let errors = 0;
    for (let i = 0; i < 300; i++) {
      let text = base;
      for (let j = 0; j < 1 + rnd(4); j++) {
        const at = rnd(text.length);
        const op = rnd(3);
        if (op === 0) text = text.slice(0, at) + chars[rnd(chars.length)] + text.slice(at);
        else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + rnd(5));
        else text = text.slice(0, at) + text.slice(rnd(text.length));
      }
      writeFileSync(join(dir, 'compose.yaml'), text);
      try {
        await readCompose({ files: [], cwd: dir, env: {} });
      } catch (err) {
        if (!(err instanceof ComposeError))
          assert.fail(`mutation ${i} threw ${(err as Error).stack}\n---\n${text}`);
        assert.match(err.message, /^compose\.yaml(:\d+:\d+)?: /m);
        errors++;
      }
    }
    assert.ok(errors > 50, `only ${errors} mutations were errors`);
  });
});
