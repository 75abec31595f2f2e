import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  caFile: string;
  /** Issues a server certificate for 127.0.0.1 and `localhost`; returns its files and fingerprint. */
  issue(name: string): { certFile: string; keyFile: string; fingerprint256: string };
}

function openssl(binary: string, args: string[]): void {
  const r = spawnSync(binary, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A throwaway CA made with the real openssl, in `dir`. */
export function makeCa(binary: string, dir: string): TestCa {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  openssl(binary, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  openssl(binary, [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=watchpost test CA',
    '-out',
    caFile,
  ]);
  return {
    caFile,
    issue(name) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      openssl(binary, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
      openssl(binary, ['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', csr]);
      spawnSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > "$1"`, 'sh', ext]);
      openssl(binary, [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '1',
        '-sha256',
        '-extfile',
        ext,
        '-out',
        certFile,
      ]);
      const fp = spawnSync(binary, ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], {
        encoding: 'utf8',
      });
      const fingerprint256 = /=([0-9A-F:]+)/.exec(fp.stdout)?.[1] ?? '';
      readFileSync(certFile);
      return { certFile, keyFile, fingerprint256 };
    },
  };
}
