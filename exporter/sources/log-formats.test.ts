import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom as rng } from '../../internal/testing/helpers.js';
import { LineSplitter } from './line-splitter.js';
import {
  ipv4Number,
  ipv4Text,
  jsonMatcher,
  matchSshd,
  matcherFor,
  nginxMatcher,
  regexMatcher,
  sshdMatcher,
  sshdMessageStart,
  type LineMatch,
} from './log-formats.js';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures', 'logs', name), 'utf8')
    .trimEnd()
    .split('\n');

/** What a matcher says of each line, as compact text. */
const show = (m: ReturnType<typeof matchSshd>) =>
  m === undefined
    ? '-'
    : m.parseError
      ? 'parse-error'
      : [m.codeClass, m.auth, m.client, m.count !== undefined ? `x${m.count}` : undefined]
          .filter((x) => x !== undefined)
          .join(' ');

describe('sshd', () => {
  it('matches the captured sshd auth log lines', () => {
    const m = sshdMatcher();
    assert.deepEqual(fixture('sshd-auth.txt').map(m).map(show), [
      'failure 203.0.113.5',
      'failure 198.51.100.7',
      'failure 198.51.100.8',
      '-', // pam_unix's line: sshd logs "Failed password" for the same attempt
      '-', // the end of the attempts of a connection whose "Invalid user" line counted
      'success 192.0.2.10',
      '-',
      'success 2001:db8::17',
      'failure 203.0.113.9',
      'failure 203.0.113.10',
      '-',
      'failure 203.0.113.12', // attempts ended, none of them logged at INFO: one failure
      'failure 203.0.113.13', // a user name cannot fake the address: the last " from " counts
      '-',
      'failure 203.0.113.14',
      '-', // "Failed none": the first, free request (auth2.c), not an attempt
    ]);
  });

  it('counts one failure per attempt, after OpenSSH auth.c/auth2.c', () => {
    const m = sshdMatcher();
    const lines = fixture('sshd-attempts.txt');
    assert.deepEqual(lines.map(m).map(show), [
      'failure 198.51.100.20', // Invalid user: the connection's first attempt
      '-', // Failed none: no attempt
      '-', // Failed password of that same first attempt
      'failure 198.51.100.20', // the second attempt
      '-', // end of attempts already counted
      'failure 203.0.113.30', // PAM failure...
      '-', // ...and its keyboard-interactive line: one attempt
      'failure 203.0.113.30',
      '-',
      'failure 203.0.113.31',
      'failure 203.0.113.31 x4', // rsyslog: the message 4 times
      '-', // maximum exceeded: ends attempts already logged
      '-',
      'failure 192.0.2.40', // key-only scanner: nothing else was logged for this connection
      'failure 192.0.2.41',
      'failure 192.0.2.41',
      'failure 192.0.2.41',
      '-',
      'failure ::ffff:203.0.113.81', // IPv6 clients get their label
      '-',
      'failure ::1',
      '-', // sudo's line, though it has the same text: not sshd
      '-',
      'failure 192.0.2.42',
      'success 192.0.2.10',
      'failure 198.51.100.21', // Invalid user, PAM and Failed lines of one attempt: once
      '-',
      '-',
    ]);
  });

  it('matches bare lines (a container printing to stdout) and ignores look-alikes', () => {
    const m = sshdMatcher();
    assert.equal(show(m('Failed password for root from 10.0.0.1 port 22 ssh2')), 'failure 10.0.0.1');
    assert.equal(show(m('Failed to start foo.service: Unit not found for x from y')), '-');
    assert.equal(show(m('Accepted connection')), '-');
    assert.equal(show(m('Failed password for root from <script> port 1')), 'failure');
    assert.equal(
      show(m('Nov 30 08:00:43 web1 su[1]: Failed password for root from 6.6.6.6 port 2 ssh2')),
      '-',
    );
    assert.equal(
      show(m('Nov 30 08:00:43 web1 logger: Failed password for root from 6.6.6.6 port 2 ssh2')),
      '-',
    );
    assert.equal(
      show(
        m(
          '2026-11-30T08:00:43.1+00:00 web1 sshd-session[9]: Failed password for root from 6.6.6.7 port 2 ssh2',
        ),
      ),
      'failure 6.6.6.7',
    );
  });

  it('forgets a pending attempt after a while, so a lost line cannot swallow a later failure', () => {
    let now = 0;
    const m = sshdMatcher(() => now);
    assert.equal(
      show(m('sshd[1]: error: PAM: Authentication failure for root from 10.0.0.2')),
      'failure 10.0.0.2',
    );
    now += 10 * 60_000;
    assert.equal(
      show(m('sshd[1]: Failed keyboard-interactive/pam for root from 10.0.0.2 port 5 ssh2')),
      'failure 10.0.0.2',
    );
  });
});

describe('nginx', () => {
  it('counts status classes and auth on login paths (combined and common formats)', () => {
    const m = nginxMatcher(['/login', '/api/auth']);
    assert.deepEqual(fixture('nginx-access.txt').map(m).map(show), [
      '4xx failure 203.0.113.5',
      '4xx failure 203.0.113.5',
      '3xx success 192.0.2.10',
      '2xx', // a GET of the login page is not a login
      '2xx',
      '4xx', // 401 outside the login paths
      '4xx failure 198.51.100.7', // below /api/auth
      '4xx',
      '5xx',
      '4xx',
      '4xx', // /loginx is not /login
      '1xx',
      '2xx',
      'parse-error', // an error log line
    ]);
  });

  it('labels IPv6 clients, also those starting with ":"', () => {
    const m = nginxMatcher(['/login']);
    const at = '- - [30/Nov/2026:08:00:00 +0000] "POST /login HTTP/1.1" 401 0 "-" "curl/8.5.0"';
    assert.equal(show(m(`::1 ${at}`)), '4xx failure ::1');
    assert.equal(show(m(`::ffff:203.0.113.81 ${at}`)), '4xx failure ::ffff:203.0.113.81');
    assert.equal(show(m(`2001:db8::5 ${at}`)), '4xx failure 2001:db8::5');
    assert.equal(show(m(`:<b> ${at}`)), '4xx failure', 'not an address: no label, still counted');
  });

  it('never throws on garbage', () => {
    const m = nginxMatcher(['/login']);
    for (const line of [
      '',
      '"',
      ' "',
      ' "x" ',
      ' "x" 9',
      ' "x" 20',
      ' "x" 200x',
      '\uFFFD\uFFFD "GET / H" 200',
    ]) {
      assert.doesNotThrow(() => m(line), line);
    }
    assert.equal(show(m(' "x" 200')), '2xx');
    assert.equal(show(m(' "x" 600 1')), 'parse-error');
  });
});

describe('json', () => {
  const m = jsonMatcher({
    result_field: 'auth.result',
    failure_values: ['failed', 401],
    success_values: ['ok'],
    client_field: 'ip',
  });
  it('matches a field against the failure and success values', () => {
    assert.equal(show(m('{"auth":{"result":"failed"},"ip":"10.1.2.3"}')), 'failure 10.1.2.3');
    assert.equal(show(m('{"auth":{"result":"401"}}')), 'failure');
    assert.equal(show(m('{"auth":{"result":401},"ip":"x y"}')), 'failure');
    assert.equal(show(m('{"auth":{"result":"ok"},"ip":"10.1.2.3"}')), 'success 10.1.2.3');
    assert.equal(show(m('{"auth":{"result":"other"}}')), '-');
    assert.equal(show(m('{"msg":"no result"}')), '-');
  });
  it('counts a line that is not a JSON object as a parse error', () => {
    for (const line of ['not json', '{"a":', '[1,2]', '"text"', '', 'null']) {
      assert.equal(show(m(line)), 'parse-error', line);
    }
  });
});

describe('regex', () => {
  it('uses the named group client', () => {
    const m = regexMatcher({ failure: 'login failed from (?<client>\\S+)', success: 'login ok' });
    assert.equal(show(m('app: login failed from 10.9.8.7 (bad password)')), 'failure 10.9.8.7');
    assert.equal(show(m('app: login ok for bob')), 'success');
    assert.equal(show(m('app: hello')), '-');
    const noGroup = regexMatcher({ failure: 'denied' });
    assert.equal(show(noGroup('access denied')), 'failure');
  });
  it('matches a pattern with nested quantifiers in linear time (no catastrophic backtracking)', () => {
    // RegExp takes time exponential in the length of a line that almost matches this
    // pattern: 34 characters froze the exporter for 15-75 s. The match runs in a child
    // process so that a backtracking engine fails this test (killed) instead of hanging it.
    const failure = '^(\\w+\\s?)*: login failed from (?<client>\\S+)$';
    const script = `
      import { regexMatcher } from ${JSON.stringify(new URL('./log-formats.ts', import.meta.url).href)};
      const m = regexMatcher({ failure: ${JSON.stringify(failure)} });
      const evil = 'a'.repeat(20000) + '!';
      let n = 0;
      for (let i = 0; i < 10; i++) if (m(evil) === undefined) n++;
      const ok = m('app worker: login failed from 10.0.0.7');
      console.log(JSON.stringify({ n, client: ok && ok.client }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.signal, null, `the match did not finish (killed by ${r.signal})`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { n: 10, client: '10.0.0.7' });
  });
  it('matcherFor picks the matcher of the format', () => {
    assert.equal(matcherFor({ format: 'sshd', login_paths: [] }).prefilter, matchSshd.prefilter);
    assert.throws(() => matcherFor({ format: 'json', login_paths: [] }));
  });
});

/** Deterministic pseudo-random numbers (mulberry32). */
describe('sshd prefilter', () => {
  it('drops no line the matcher would count: the same results with and without it, on a corpus', () => {
    const { starts, after } = sshdMatcher().prefilter!;
    // The prefilter's rule, on the decoded line (the splitter applies it to the bytes).
    const passes = (line: string) => {
      if (starts.some((s) => line.startsWith(s))) return true;
      const sep = line.indexOf(after);
      return sep >= 0 && starts.some((s) => line.startsWith(s, sep + after.length));
    };
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const ips = ['10.0.0.1', '10.0.0.2', '192.0.2.7', '::1', '2001:db8::5', 'host.example', '010.0.0.1'];
    const users = ['root', 'admin', 'invalid user x', 'from 6.6.6.6 port 1'];
    const heads = [
      'host: sshd[1]: ',
      '2026-11-30T08:00:43.1+00:00 web1 sshd-session[9]: ',
      'Nov 30 08:00:01 web1 sshd[12]: ',
      'web1 sshd-session[3]: ',
      'sshd-auth: ',
      '',
      'x su[1]: ',
    ];
    // Every message shape of docs/log-formats.md, near misses of each, and the lines of the fixtures.
    const shapes = [
      () =>
        `error: maximum authentication attempts exceeded for root from ${pick(ips)} port 22 ssh2 [preauth]`,
      () => `error: Failed password for root from ${pick(ips)} port 22 ssh2`,
      () =>
        `Failed password for ${pick(users)} from ${pick(ips)} port ${pick(['22', '022', '123456', ''])} ssh2`,
      () => `Failed none for invalid user ${pick(users)} from ${pick(ips)} port 22 ssh2`,
      () => `Failed keyboard-interactive/pam for ${pick(users)} from ${pick(ips)} port 9 ssh2`,
      () => `Invalid user ${pick(users)} from ${pick(ips)} port ${pick(['22', '23'])}`,
      () =>
        `error: PAM: Authentication failure for ${pick(['', 'illegal user '])}${pick(users)} from ${pick(ips)}`,
      () => `PAM: authentication failure for ${pick(users)} from ${pick(ips)}`,
      () =>
        `maximum authentication attempts exceeded for ${pick(users)} from ${pick(ips)} port 22 ssh2 [preauth]`,
      () => `Connection closed by authenticating user ${pick(users)} ${pick(ips)} port 22 [preauth]`,
      () => `Connection reset by invalid user ${pick(users)} ${pick(ips)} port 23 [preauth]`,
      () => `Disconnected from invalid user ${pick(users)} ${pick(ips)} port 22 [preauth]`,
      () => `Disconnected from authenticating user ${pick(users)} ${pick(ips)} port 23 [preauth]`,
      () => `Connection closed by ${pick(ips)} port 22 [preauth]`,
      () => `Received disconnect from ${pick(ips)} port 22:11: Bye Bye [preauth]`,
      () => `Accepted publickey for ${pick(users)} from ${pick(ips)} port 22 ssh2: ED25519 SHA256:x`,
      () =>
        `message repeated ${pick(['2', '3'])} times: [ Failed password for root from ${pick(ips)} port 22 ssh2]`,
      () => `pam_unix(sshd:session): session opened for user ${pick(users)}(uid=0) by (uid=0)`,
      () => `Server listening on 0.0.0.0 port 22.`,
    ];
    const corpus = [
      ...fixture('sshd-auth.txt'),
      ...fixture('sshd-attempts.txt'),
      ...Array.from({ length: 20_000 }, () => pick(heads) + pick(shapes)()),
    ];
    const all = sshdMatcher(() => 0);
    const wanted: string[] = [];
    let counted = 0;
    for (const line of corpus) {
      const want = show(all(line));
      if (want !== '-') counted++;
      if (passes(line)) wanted.push(`${want} ${line}`);
      else assert.equal(want, '-', `the prefilter would drop a line the matcher counts: ${line}`);
    }
    // The same corpus through the splitter and its prefilter, matched as SourceCounts does:
    // with the message start the prefilter found, when it gives one.
    const filtered = sshdMatcher(() => 0);
    const got: string[] = [];
    let hinted = 0;
    const splitter = new LineSplitter(
      4096,
      (line, messageAt) => {
        if (messageAt >= 0) hinted++;
        const m = messageAt >= 0 ? filtered.matchAt!(line, messageAt) : filtered(line);
        got.push(`${show(m)} ${line}`);
      },
      () => assert.fail('no line of the corpus is over-long'),
      { ...filtered.prefilter!, skipped: () => undefined },
    );
    splitter.push(Buffer.from(corpus.map((l) => `${l}\n`).join('')));
    assert.deepEqual(got, wanted);
    // The corpus exercises both sides, and the matcher's shortcut.
    assert.ok(
      counted > 3000 && wanted.length < corpus.length,
      `${counted} counted, ${wanted.length} of ${corpus.length} kept`,
    );
    assert.ok(hinted > 3000, `${hinted} lines matched from the message start the prefilter found`);
  });
});

describe('sshd: message repeated', () => {
  it('counts "message repeated N times" as N lines of the message would be, state included', () => {
    const rand = rng(23);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    // Few clients, ports and users, so that lines of one attempt meet: Invalid user and PAM
    // credits taken by the Failed lines that follow, end-of-attempts lines after failures.
    const ips = ['10.0.0.1', '10.0.0.2', '::1', 'host.example'];
    const ports = ['22', '2222'];
    const users = ['root', 'x'];
    const message = () => {
      const ip = pick(ips);
      const port = pick(ports);
      const user = pick(users);
      return pick([
        `Failed password for ${user} from ${ip} port ${port} ssh2`,
        `Failed password for invalid user ${user} from ${ip} port ${port} ssh2`,
        `Failed keyboard-interactive/pam for ${user} from ${ip} port ${port} ssh2`,
        `Failed none for ${user} from ${ip} port ${port} ssh2`,
        `Invalid user ${user} from ${ip} port ${port}`,
        `error: PAM: Authentication failure for ${user} from ${ip}`,
        `error: PAM: Authentication failure for illegal user ${user} from ${ip}`,
        `maximum authentication attempts exceeded for ${user} from ${ip} port ${port} ssh2 [preauth]`,
        `maximum authentication attempts exceeded for ${user} from ${ip} ssh2 [preauth]`,
        `Connection closed by authenticating user ${user} ${ip} port ${port} [preauth]`,
        `Disconnected from invalid user ${user} ${ip} port ${port} [preauth]`,
        `Accepted password for ${user} from ${ip} port ${port} ssh2`,
      ]);
    };
    const repeated = sshdMatcher(() => 0);
    const oneByOne = sshdMatcher(() => 0);
    const totals = () => ({ failure: 0, success: 0, byClient: new Map<string, number>() });
    const a = totals();
    const b = totals();
    const add = (t: ReturnType<typeof totals>, r: LineMatch | undefined) => {
      if (r?.auth === undefined) return;
      const n = r.count ?? 1;
      t[r.auth] += n;
      if (r.client !== undefined && r.auth === 'failure')
        t.byClient.set(r.client, (t.byClient.get(r.client) ?? 0) + n);
    };
    for (let i = 0; i < 20_000; i++) {
      const msg = message();
      const times = pick([1, 1, 2, 3, 7, 40]);
      add(a, repeated(`h sshd[1]: message repeated ${times} times: [ ${msg}]`));
      for (let k = 0; k < times; k++) add(b, oneByOne(`h sshd[1]: ${msg}`));
      if (i % 1000 === 0) assert.deepEqual(a, b, `after message ${i}`);
    }
    assert.deepEqual(a, b);
    assert.ok(a.failure > 1000 && a.success > 100, `${a.failure} failures, ${a.success} successes`);
  });

  it('works out a large repeat count at once, not once per repeat', () => {
    // The matcher's state reads the clock on each use: the calls measure its work.
    let reads = 0;
    const m = sshdMatcher(() => {
      reads++;
      return 0;
    });
    const r = m(
      'h sshd[1]: message repeated 999999 times: [ Failed password for root from 10.0.0.9 port 22 ssh2]',
    );
    assert.deepEqual(r, {
      auth: 'failure',
      client: '10.0.0.9',
      ipv4: ipv4Number('10.0.0.9'),
      count: 999_999,
    });
    assert.ok(reads < 10, `${reads} clock reads for one line`);
    const inv = m('h sshd[1]: message repeated 999999 times: [ Invalid user x from 10.0.0.9 port 23]');
    assert.equal(inv?.count, 999_999);
    // ...and the credits they left are taken by as many Failed lines, in one pass too.
    const free = m(
      'h sshd[1]: message repeated 999999 times: [ Failed password for invalid user x from 10.0.0.9 port 23 ssh2]',
    );
    assert.equal(free, undefined);
    assert.ok(reads < 30, `${reads} clock reads for three lines`);
    assert.equal(
      m('h sshd[1]: message repeated 0 times: [ Failed password for root from 10.0.0.9 port 22 ssh2]'),
      undefined,
    );
  });
});

describe('sshd matcher internals', () => {
  it('ipv4Number is one to one on canonical dotted quads and -1 for anything else', () => {
    assert.equal(ipv4Number('0.0.0.0'), 0);
    assert.equal(ipv4Number('10.0.0.1'), 167772161);
    assert.equal(ipv4Number('255.255.255.255'), 2 ** 32 - 1);
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.04',
      '1..2.3',
      '1.2.3.',
      '::1',
      'a.b.c.d',
      '1.2.3.4 ',
    ])
      assert.equal(ipv4Number(bad), -1, bad);
  });

  it('ipv4Text writes back the address ipv4Number read', () => {
    const rand = rng(3);
    const samples = ['0.0.0.0', '255.255.255.255', '10.0.0.1', '192.168.100.7', '1.0.0.0', '0.0.0.255'];
    for (let i = 0; i < 2000; i++) samples.push([0, 1, 2, 3].map(() => Math.floor(rand() * 256)).join('.'));
    for (const s of samples) assert.equal(ipv4Text(ipv4Number(s)), s);
  });

  it('sshdMessageStart finds the message of sshd, sshd-session and sshd-auth only', () => {
    assert.equal(sshdMessageStart('Nov 30 h sshd[1]: Failed x'), 18);
    assert.equal(sshdMessageStart('h sshd-session: x'), 16);
    assert.equal(sshdMessageStart('h sshd-auth[2]: x'), 16);
    assert.equal(sshdMessageStart('Failed password for root'), 0);
    // The program ends at the tag's first "[", whatever follows it up to the "]".
    assert.equal(sshdMessageStart('sshd[1]: x'), 9);
    assert.equal(sshdMessageStart('h sshd[]: x'), 10);
    assert.equal(sshdMessageStart('h sshd[1[2]: x'), 13);
    for (const other of [
      'h sshd]: x',
      'h sshd-session]: x',
      'h sshd1]: x',
      'h sshdx[1]: x',
      'h xsshd[1]: x',
      'h ssh[1]: x',
      'h sshd[1: x',
      'h sshd-sessio: x',
      'no colon',
    ])
      assert.equal(sshdMessageStart(other), -1, other);
  });

  it('keeps client addresses that differ only in form apart (no leading-zero aliasing)', () => {
    const m = sshdMatcher(() => 0);
    // "Invalid user" counts the attempt and marks the connection; the Failed line of the same
    // connection is then not counted again, but one of a different-looking address is.
    assert.equal(show(m('sshd[1]: Invalid user x from 10.0.0.1 port 22')), 'failure 10.0.0.1');
    assert.equal(
      show(m('sshd[1]: Failed password for invalid user x from 010.0.0.1 port 22 ssh2')),
      'failure 010.0.0.1',
    );
    assert.equal(
      show(m('sshd[1]: Failed password for invalid user x from 10.0.0.1 port 022 ssh2')),
      'failure 10.0.0.1',
    );
    assert.equal(show(m('sshd[1]: Failed password for invalid user x from 10.0.0.1 port 22 ssh2')), '-');
  });
});
