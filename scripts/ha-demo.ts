/**
 * `npm run ha:demo`: starts the HA pair of cfg/ha (node A active for service/1, node B backup)
 * as two child processes of src/main.ts, prefixes their output with the node's name, and prints
 * how to flip the roles. Ctrl-C (or SIGTERM) stops both; if one exits, the other is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const NODES = [
  { name: 'A', config: 'cfg/ha/node-a.yaml', mi: 'http://127.0.0.1:8888/mi', colour: 36 },
  { name: 'B', config: 'cfg/ha/node-b.yaml', mi: 'http://127.0.0.1:8889/mi', colour: 35 },
] as const;

const tty = process.stdout.isTTY;
const children: ChildProcess[] = [];
let stopping = false;
let started = 0;

function prefix(name: string, colour: number): string {
  return tty ? `\x1b[${colour}m[${name}]\x1b[0m ` : `[${name}] `;
}

function help(): void {
  const lines = [
    '',
    'HA pair up: node A (SIP 127.0.0.1:5070, MI :8888) holds service/1, node B (SIP :5080, MI :8889) is backup.',
    'Flip the roles (make B active, A steps down):',
    `  npx tandem-cli --url ${NODES[1].mi} mi clusterer_shtag_set_active service/1`,
    'and back (tandem-cli talks to 127.0.0.1:8888, node A, by default):',
    '  npx tandem-cli mi clusterer_shtag_set_active service/1',
    'Look:',
    '  npx tandem-cli mi clusterer_list_shtags',
    `  npx tandem-cli --url ${NODES[1].mi} mi clusterer_list`,
    'Ctrl-C stops both.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function stopAll(code: number): void {
  if (stopping) {
    return;
  }
  stopping = true;
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
    }
  }
  let left = children.filter((c) => c.exitCode === null && c.signalCode === null).length;
  if (left === 0) {
    process.exit(code);
  }
  for (const c of children) {
    c.once('exit', () => {
      left -= 1;
      if (left <= 0) {
        process.exit(code);
      }
    });
  }
  // A child that ignores SIGTERM past its grace period is killed.
  setTimeout(() => {
    for (const c of children) {
      c.kill('SIGKILL');
    }
  }, 10_000).unref();
}

for (const node of NODES) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', '--config', node.config, ...process.argv.slice(2)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const tag = prefix(node.name, node.colour);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(tag + line + '\n');
      if (line.includes('tandem started')) {
        started += 1;
        if (started === NODES.length) {
          help();
        }
      }
    });
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${tag}exited (${signal ?? String(code)})\n`);
    stopAll(code ?? 0);
  });
}

process.on('SIGINT', () => {
  stopAll(0);
});
process.on('SIGTERM', () => {
  stopAll(0);
});
