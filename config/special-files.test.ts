import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI } from '../internal/testing/helpers.js';
import { readSecretFile, redact } from '../internal/secret.js';

/**
 * Config and secret files that are not what they claim: `watchpost check` must answer at
 * once with the file (and, for a secret, the key and line), never hang on a FIFO, read
 * /dev/zero until memory runs out, or parse a huge document for minutes. Each case runs
 * the built CLI in a child process, so a hang fails the test (killed) instead of hanging
 * the run.
 */
const dir = mkdtempSync(join(tmpdir(), 'watchpost-special-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

function check(config: string) {
  const r = spawnSync(process.execPath, [CLI, 'check', '--config', config], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=256' },
  });
  assert.equal(r.signal, null, `check did not finish (killed by ${r.signal}):\n${r.stderr}`);
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function configWithToken(name: string, tokenPath: string): string {
  const file = join(dir, name);
  writeFileSync(file, `# ${name}\nexporter:\n  bearer_token_file: ${JSON.stringify(tokenPath)}\n`);
  return file;
}

describe('check: config files that are not regular files, or too large', () => {
  const cases: [string, () => string, RegExp][] = [
    [
      'a FIFO without a writer',
      () => {
        const p = join(dir, 'config.fifo');
        mkfifo(p);
        return p;
      },
      /config file is a FIFO \(named pipe\), not a regular file/,
    ],
    ['/dev/zero', () => '/dev/zero', /config file is a character device, not a regular file/],
    [
      'a directory',
      () => {
        const p = join(dir, 'config.d');
        mkdirSync(p);
        return p;
      },
      /config file is a directory/,
    ],
    [
      'a 50 MB document',
      () => {
        const p = join(dir, 'huge.yml');
        const line = '# ' + 'x'.repeat(1000) + '\n';
        writeFileSync(p, line.repeat(50_000));
        return p;
      },
      /config file is larger than 256 KiB/,
    ],
  ];
  for (const [what, make, expected] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      const path = make();
      const r = check(path);
      assert.equal(r.status, 2, r.err);
      assert.match(r.err, expected);
      assert.ok(r.err.includes(path), `names ${path}: ${r.err}`);
    });
  }

  it('refuses a YAML alias bomb, naming the file and the line of the first alias', () => {
    const p = join(dir, 'bomb.yml');
    let text = '# laughs\nx-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      text += `x-${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    }
    writeFileSync(p, text);
    const r = check(p);
    assert.equal(r.status, 2, r.err);
    assert.match(r.err, new RegExp(`${p.replace(/[.]/g, '\\.')}:3:\\d+: invalid YAML: aliases`));
  });

  it('reports a deeply nested document as invalid YAML with its line', () => {
    const p = join(dir, 'deep.yml');
    writeFileSync(p, `exporter:\n  listen: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const r = check(p);
    assert.equal(r.status, 2, r.err);
    assert.match(r.err, new RegExp(`${p.replace(/[.]/g, '\\.')}:\\d+:\\d+: invalid YAML`));
  });
});

describe('check: secret files that are not regular files, or too large', () => {
  const cases: [string, () => string, RegExp][] = [
    ['/dev/zero', () => '/dev/zero', /is a character device, not a regular file/],
    [
      'a FIFO without a writer',
      () => {
        const p = join(dir, 'token.fifo');
        mkfifo(p);
        return p;
      },
      /is a FIFO \(named pipe\), not a regular file/,
    ],
    [
      'a directory',
      () => {
        const p = join(dir, 'token.d');
        mkdirSync(p);
        return p;
      },
      /is a directory, not a regular file/,
    ],
    [
      'a 1 MB file',
      () => {
        const p = join(dir, 'token-huge');
        writeFileSync(p, 'x'.repeat(1024 * 1024), { mode: 0o600 });
        return p;
      },
      /is larger than 64 KiB/,
    ],
  ];
  for (const [what, make, expected] of cases) {
    it(`refuses ${what} as bearer_token_file, naming the file, the key and the line`, () => {
      const token = make();
      const config = configWithToken(`token-${what.replace(/\W+/g, '-')}.yml`, token);
      const r = check(config);
      assert.equal(r.status, 2, r.err);
      assert.match(r.err, expected);
      assert.ok(
        r.err.includes(`${config}:3:22: exporter.bearer_token_file: secret file "${token}"`),
        `names file, line, key and secret file: ${r.err}`,
      );
    });
  }

  it('warns about a secret file readable by group or others, and not about a 0600 one', () => {
    const token = join(dir, 'token-open');
    writeFileSync(token, 'a-long-enough-token-for-metrics\n');
    chmodSync(token, 0o644);
    const config = configWithToken('token-open.yml', token);
    let r = check(config);
    assert.equal(r.status, 0, r.err);
    assert.match(
      r.err,
      /warning: secret file ".*token-open" is readable by its group \(\d+\) and others \(mode 0644\)/,
    );
    assert.ok(!r.err.includes('a-long-enough-token'), 'the warning never holds the secret');
    chmodSync(token, 0o600);
    r = check(config);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.err, '');
  });
});

describe('the secrets group', () => {
  it('a secret readable by the declared secrets group only is shared on purpose: no warning', () => {
    const file = join(dir, 'shared-secret');
    writeFileSync(file, 'a-long-enough-token-for-metrics\n');
    chmodSync(file, 0o640);
    const gid = statSync(file).gid;
    const shared = readSecretFile(file, { sharedGroup: gid });
    assert.equal(shared.value, 'a-long-enough-token-for-metrics');
    assert.equal(shared.warning, undefined);
    // Another group, or none declared: the group can read a secret nobody meant it to.
    const other = readSecretFile(file, { sharedGroup: gid + 1 });
    assert.match(other.warning ?? '', new RegExp(`readable by its group \\(${gid}\\) \\(mode 0640\\)`));
    assert.match(other.warning ?? '', /WATCHPOST_SECRETS_GID/);
    assert.match(readSecretFile(file).warning ?? '', /readable by its group/);
    // Readable by others is never on purpose, whatever the group.
    chmodSync(file, 0o644);
    assert.match(readSecretFile(file, { sharedGroup: gid }).warning ?? '', /and others \(mode 0644\)/);
  });
});

describe('credentials in URLs', () => {
  it('check refuses user:pass@ in a stream server URL and says where credentials go', () => {
    const config = join(dir, 'url-creds.yml');
    writeFileSync(
      config,
      [
        'collectors:',
        '  streams:',
        '    servers:',
        '      - name: cams',
        '        kind: mediamtx',
        '        url: http://admin:hunter2-secret@127.0.0.1:9997',
        '',
      ].join('\n'),
    );
    const r = check(config);
    assert.equal(r.status, 2, r.err);
    assert.match(r.err, /:6:14: collectors\.streams\.servers\.0\.url: expected a URL without credentials/);
    assert.match(r.err, /password_file/);
    assert.ok(!r.err.includes('hunter2-secret'), `the password is never printed: ${r.err}`);
  });

  it('log lines and errors never show the credentials of a URL', () => {
    assert.equal(
      redact('fetch failed: GET http://admin:hunter2@10.0.0.5:9997/v3/paths/list refused'),
      'fetch failed: GET http://<secret>@10.0.0.5:9997/v3/paths/list refused',
    );
    assert.equal(redact('see https://example.com/a@b'), 'see https://example.com/a@b');
  });
});
