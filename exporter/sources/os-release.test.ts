import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { distributionName, parseOsRelease, readLinuxOsInfo } from './os-release.js';

describe('os-release', () => {
  it('parses quoted, single-quoted and bare values, with escapes, skipping comments and junk', () => {
    const f = parseOsRelease(
      [
        '# comment',
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
        'ID=debian',
        "VERSION='12 (bookworm)'",
        'NAME="Say \\"hi\\" \\$HOME"',
        'not a line',
        '',
      ].join('\n'),
    );
    assert.equal(f.get('PRETTY_NAME'), 'Debian GNU/Linux 12 (bookworm)');
    assert.equal(f.get('ID'), 'debian');
    assert.equal(f.get('VERSION'), '12 (bookworm)');
    assert.equal(f.get('NAME'), 'Say "hi" $HOME');
    assert.equal(f.size, 4);
  });

  it('names the distribution by PRETTY_NAME, else NAME and VERSION, else Linux', () => {
    assert.equal(distributionName(new Map([['PRETTY_NAME', 'Alpine Linux v3.20']])), 'Alpine Linux v3.20');
    assert.equal(
      distributionName(
        new Map([
          ['NAME', 'Fedora Linux'],
          ['VERSION_ID', '40'],
        ]),
      ),
      'Fedora Linux 40',
    );
    assert.equal(distributionName(new Map()), 'Linux');
  });

  it("reads the host's os-release under rootfs, /usr/lib/os-release when /etc has none", async () => {
    const root = mkdtempSync(join(os.tmpdir(), 'watchpost-rootfs-'));
    try {
      assert.equal((await readLinuxOsInfo(root)).prettyName, 'Linux');
      mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
      writeFileSync(join(root, 'usr', 'lib', 'os-release'), 'PRETTY_NAME="Fedora CoreOS 40"\n');
      assert.equal((await readLinuxOsInfo(root)).prettyName, 'Fedora CoreOS 40');
      mkdirSync(join(root, 'etc'));
      writeFileSync(
        join(root, 'etc', 'os-release'),
        'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n',
      );
      const info = await readLinuxOsInfo(root);
      assert.deepEqual(info, {
        id: 'ubuntu',
        name: 'Ubuntu',
        versionId: '24.04',
        prettyName: 'Ubuntu 24.04 LTS',
        kernel: os.release(),
        arch: os.machine(),
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
