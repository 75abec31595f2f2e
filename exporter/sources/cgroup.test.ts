import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cgroupVersion,
  parseCpuacctUsage,
  parseCpuStatV2,
  parseMemoryBytes,
  readContainerCgroup,
} from './cgroup.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
// The container whose cgroup files the fixtures hold (captured on cgroup v1, cgroupfs).
const ID = '1a537015fd860dc3ee3bd34eaccbd3703ed9657d19d57b02994ac968e99a1188';

describe('cgroup parsers', () => {
  it('reads cpuacct.usage as seconds', () => {
    assert.equal(parseCpuacctUsage('55144372\n'), 0.055144372);
    assert.throws(() => parseCpuacctUsage('', '/x/cpuacct.usage'), /\/x\/cpuacct.usage: expected a number/);
    assert.throws(() => parseCpuacctUsage('abc'), /expected a number/);
  });

  it('reads usage_usec of cpu.stat (v2) as seconds', () => {
    assert.equal(parseCpuStatV2('usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n'), 1.234567);
    assert.throws(() => parseCpuStatV2('user_usec 1\n', 'cpu.stat'), /cpu.stat: no usage_usec line/);
  });

  it('reads memory byte counts, "max" and v1 "no limit" as no limit', () => {
    assert.equal(parseMemoryBytes('67108864\n'), 67108864);
    assert.equal(parseMemoryBytes('max\n'), undefined);
    assert.equal(parseMemoryBytes('9223372036854771712\n'), undefined);
    assert.throws(() => parseMemoryBytes('-1', 'memory.max'), /memory.max: expected a number of bytes/);
  });
});

describe('readContainerCgroup', () => {
  it('detects the hierarchy version', async () => {
    assert.equal(await cgroupVersion(`${FIXTURES}cgroup-v1`), 1);
    assert.equal(await cgroupVersion(`${FIXTURES}cgroup-v2`), 2);
  });

  it('reads cgroup v1, cgroupfs driver (docker/<id>)', async () => {
    assert.deepEqual(readContainerCgroup(`${FIXTURES}cgroup-v1`, 1, ID), {
      cpuSeconds: 0.055144372,
      memoryUsageBytes: 1937408,
      memoryLimitBytes: 67108864,
    });
  });

  it('reads cgroup v1, systemd driver (system.slice/docker-<id>.scope), no limit', async () => {
    assert.deepEqual(readContainerCgroup(`${FIXTURES}cgroup-v1-systemd`, 1, ID), {
      cpuSeconds: 2.5,
      memoryUsageBytes: 4096000,
    });
  });

  it('reads cgroup v2 (cpu.stat, memory.current, memory.max)', async () => {
    assert.deepEqual(readContainerCgroup(`${FIXTURES}cgroup-v2`, 2, ID), {
      cpuSeconds: 1.234567,
      memoryUsageBytes: 3186688,
    });
  });

  it('gives nothing for a container without a cgroup (stopped)', async () => {
    assert.deepEqual(readContainerCgroup(`${FIXTURES}cgroup-v1`, 1, 'f'.repeat(64)), {});
    assert.deepEqual(readContainerCgroup(`${FIXTURES}cgroup-v2`, 2, 'f'.repeat(64)), {});
  });
});
