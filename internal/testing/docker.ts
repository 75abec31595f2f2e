import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';

/** The image scripts/start-dockerd.sh imports from busybox-static. */
export const TEST_IMAGE = 'local/busybox:1';
/** Every container a test makes carries this label, so a leftover is easy to find. */
export const TEST_LABEL = 'watchpost.test=1';

const HOWTO = 'run scripts/install-system-deps.sh and scripts/start-dockerd.sh';

/**
 * Whether a Docker Engine answers and has the test image. In CI (CI=true) one that
 * does not fails the test; elsewhere the test is skipped, loudly.
 */
export function requireDocker(t: TestContext): boolean {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  let why: string | undefined;
  if (info.error || info.status !== 0) why = `docker not reachable: ${HOWTO}`;
  else if (spawnSync('docker', ['image', 'inspect', TEST_IMAGE], { stdio: 'ignore' }).status !== 0) {
    why = `docker image ${TEST_IMAGE} missing: ${HOWTO}`;
  }
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(why);
  process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
  t.skip(why);
  return false;
}

/** Runs the docker CLI; returns its trimmed stdout. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();
}

/**
 * Containers of one test file: each name starts with a unique prefix, each carries
 * TEST_LABEL and --network none; removeAll() (call it in after()) removes every one.
 */
export class TestContainers {
  readonly prefix = `wp-test-${randomBytes(3).toString('hex')}-`;
  private readonly names = new Set<string>();

  /** `docker run -d` with the given options and command; returns the full name. */
  run(name: string, options: string[], command: string[]): string {
    return this.#make(['run', '-d'], name, options, command);
  }

  /** `docker create` (the container never starts). */
  create(name: string, options: string[], command: string[]): string {
    return this.#make(['create'], name, options, command);
  }

  #make(verb: string[], name: string, options: string[], command: string[]): string {
    const full = `${this.prefix}${name}`;
    this.names.add(full);
    docker(
      ...verb,
      '--name',
      full,
      '--network',
      'none',
      '--label',
      TEST_LABEL,
      ...options,
      TEST_IMAGE,
      ...command,
    );
    return full;
  }

  removeAll(): void {
    if (this.names.size === 0) return;
    spawnSync('docker', ['rm', '-f', ...this.names], { stdio: 'ignore', timeout: 60_000 });
    this.names.clear();
  }
}
