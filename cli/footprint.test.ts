import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

/**
 * Runs a long-running command of the built CLI in a child process until it logs that it
 * listens, and returns the npm packages loaded by then. Every package named here is
 * CommonJS, so Node's module cache lists it even when it was reached through import().
 */
function packagesLoadedBy(args: string[]): string[] {
  const probe = `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk, ...rest) => {
      if (/msg="(exporter|notifier) listening"/.test(String(chunk))) {
        const pkgs = new Set();
        for (const p of Object.keys(cache)) {
          const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p);
          if (m) pkgs.add(m[1]);
        }
        process.stdout.write(JSON.stringify([...pkgs]));
        process.exit(0);
      }
      return write(chunk, ...rest);
    };
    const { main } = await import(${JSON.stringify(CLI)});
    process.exitCode = await main(${JSON.stringify(args)});
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    // The notifier keeps its outbox and token under ./.watchpost by default.
    cwd: mkdtempSync(join(tmpdir(), 'watchpost-footprint-')),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WATCHPOST_CONFIG: '' },
  });
  assert.equal(r.status, 0, `the command did not come up:\n${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

describe('each command loads only what it runs', () => {
  it('the exporter loads no mail client, and no regex engine while its config has no pattern', () => {
    const pkgs = packagesLoadedBy(['exporter', '--listen', '127.0.0.1:0']);
    assert.ok(pkgs.includes('prom-client'), `the probe sees CommonJS packages: ${pkgs.join(', ')}`);
    assert.ok(!pkgs.includes('nodemailer'), 'nodemailer loaded by the exporter');
    // The built-in default has no user pattern; re2js loads with the first one.
    assert.ok(!pkgs.includes('re2js'), 're2js loaded by the exporter with the default config');
  });

  it('the notifier loads none of the exporter’s sources’ parsers and clients', () => {
    const pkgs = packagesLoadedBy(['notifier', '--listen', '127.0.0.1:0']);
    assert.ok(pkgs.includes('prom-client'), `the probe sees CommonJS packages: ${pkgs.join(', ')}`);
    // nodemailer too: the notifier loads it for its first email, not at start.
    for (const heavy of ['fast-xml-parser', 'systeminformation', 're2js', 'nodemailer'])
      assert.ok(!pkgs.includes(heavy), `${heavy} loaded by the notifier`);
  });
});
