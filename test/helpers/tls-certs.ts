/**
 * Development certificates made with openssl at test time, never committed: a CA, a server
 * certificate for 127.0.0.1 / ::1 / localhost signed by it, a client certificate signed by it,
 * and a self-signed client certificate no one trusts. Generated once per test process in a
 * temporary directory that is removed as soon as the PEM text is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Self-signed: not issued by `ca`. */
  rogueCert: string;
  rogueKey: string;
}

let cached: TestCerts | null = null;

/** Run openssl in `dir`: `cmd` split at spaces, then `extra` arguments that hold spaces. */
function openssl(dir: string, cmd: string, ...extra: string[]): void {
  execFileSync('openssl', [...cmd.split(' '), ...extra], { cwd: dir, stdio: 'pipe' });
}

const EC = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

/** The certificates, generated on first use. */
export function testCerts(): TestCerts {
  if (cached !== null) {
    return cached;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-certs-'));
  try {
    openssl(
      dir,
      `req -x509 ${EC} -keyout ca.key -out ca.crt -days 2`,
      '-subj',
      '/CN=Tandem Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    const issue = (name: string, cn: string, ext: string): void => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, `req ${EC} -keyout ${name}.key -out ${name}.csr -subj /CN=${cn}`);
      openssl(
        dir,
        `x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${name}.crt ` +
          `-days 2 -extfile ${name}.ext`,
      );
    };
    issue(
      'server',
      'localhost',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    issue('client', 'client.test', 'subjectAltName=DNS:client.test\nextendedKeyUsage=clientAuth\n');
    openssl(dir, `req -x509 ${EC} -keyout rogue.key -out rogue.crt -days 2 -subj /CN=rogue.test`);
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    cached = {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      rogueCert: read('rogue.crt'),
      rogueKey: read('rogue.key'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
