/**
 * Cluster certificates made with openssl at test time, never committed: a cluster CA and one
 * certificate per node naming `node-<id>` (CN and DNS SAN), plus a second CA with a node
 * certificate of its own (a stranger's). Generated once per test process in a temporary
 * directory removed as soon as the PEM text is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NodeCert {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface ClusterCerts {
  ca: Buffer;
  /** Certificates signed by `ca`, by node id (ids 1..4), each naming `node-<id>`. */
  node(id: number): NodeCert;
  /** Signed by `ca` but naming `node-99` only. */
  misnamed: NodeCert;
  /** Names `node-1` but signed by another CA (its `ca` is that other CA). */
  foreign: NodeCert;
}

let cached: ClusterCerts | null = null;

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

function issue(dir: string, ca: string, file: string, cn: string): void {
  writeFileSync(
    join(dir, `${file}.ext`),
    `subjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  openssl(dir, 'req', ...EC, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${file}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${file}.crt`,
    '-days',
    '2',
    '-extfile',
    `${file}.ext`,
  );
}

/** The certificates, generated on first use. */
export function clusterCerts(): ClusterCerts {
  if (cached !== null) {
    return cached;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cluster-certs-'));
  try {
    makeCa(dir, 'cluster-ca');
    makeCa(dir, 'other-ca');
    const ids = [1, 2, 3, 4];
    for (const id of ids) {
      issue(dir, 'cluster-ca', `node${id}`, `node-${id}`);
    }
    issue(dir, 'cluster-ca', 'misnamed', 'node-99');
    issue(dir, 'other-ca', 'foreign', 'node-1');
    const read = (f: string): Buffer => readFileSync(join(dir, f));
    const ca = read('cluster-ca.crt');
    const nodes = new Map<number, NodeCert>(
      ids.map((id) => [id, { cert: read(`node${id}.crt`), key: read(`node${id}.key`), ca }]),
    );
    cached = {
      ca,
      node: (id) => {
        const c = nodes.get(id);
        if (c === undefined) {
          throw new Error(`no test certificate for node ${id}`);
        }
        return c;
      },
      misnamed: { cert: read('misnamed.crt'), key: read('misnamed.key'), ca },
      foreign: { cert: read('foreign.crt'), key: read('foreign.key'), ca: read('other-ca.crt') },
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
