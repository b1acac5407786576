/** docs/mi.md stays in step with the code: every core command, statistic and core event. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CORE_EVENTS, EventBus } from '../../src/core/events.js';
import { LogLevels } from '../../src/core/log-levels.js';
import { silentLogger } from '../../src/core/logger.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { coreManifest } from '../../src/mi/core-commands.js';
import { registerStackStats } from '../../src/mi/core-stats.js';
import { ProcessProbe } from '../../src/mi/process.js';
import { MiRegistry } from '../../src/mi/registry.js';

const doc = readFileSync(new URL('../../docs/mi.md', import.meta.url), 'utf8');

t.test('every core command has a section', async (t) => {
  const manifest = coreManifest({
    version: '0',
    startedAt: new Date(),
    stats: new StatsRegistry(),
    loggers: new LogLevels(silentLogger),
    registry: new MiRegistry(),
    events: new EventBus(),
    probe: new ProcessProbe(),
    reloadScript: () => Promise.resolve(),
    shutdown: () => undefined,
  });
  for (const cmd of manifest.mi ?? []) {
    t.ok(doc.includes(`### ${cmd.name}\n`), cmd.name);
  }
});

t.test('every statistic and core event is named', async (t) => {
  const stats = new StatsRegistry();
  const zero = <K extends string>(keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  registerStackStats(stats, {
    core: zero([
      'rcv_requests',
      'rcv_replies',
      'fwd_replies',
      'drop_requests',
      'drop_replies',
      'err_requests',
      'sent_replies',
      'script_errors',
    ]),
    tm: zero([
      'inuse_transactions',
      'UAS_transactions',
      'UAC_transactions',
      '2xx_transactions',
      '3xx_transactions',
      '4xx_transactions',
      '5xx_transactions',
      '6xx_transactions',
      'retransmissions',
    ]),
    transport: zero([
      'received_requests',
      'received_replies',
      'bad_messages',
      'dropped_responses',
      'sent_messages',
      'send_failures',
      'connections_open',
      'connections_refused',
      'handler_errors',
    ]),
    transactions: { droppedMessages: 0 },
    mi: { commands: 0, errors: 0 },
    miServer: { unauthorized: 0 },
    events: { raised: 0, subscriber_errors: 0 },
    webhooks: { sent: 0, failed: 0, dropped: 0 },
    script: { event_errors: 0 },
    probe: new ProcessProbe(),
    startedAt: new Date(),
  });
  for (const e of stats.entries()) {
    const name = /^\dxx_/.test(e.name) ? '2xx_transactions' : e.name;
    t.ok(doc.includes(`\`${e.group}:\``) && doc.includes(`\`${name}\``), e.fullName);
  }
  for (const name of Object.keys(CORE_EVENTS)) {
    t.ok(doc.includes(`\`${name}\``), name);
  }
});
