/**
 * The schema of Tandem's core configuration (cfg/tandem.yaml). Every object is strict, so a
 * misspelt key is reported rather than silently ignored, and every leaf carries the phrase that
 * completes "expected …" in an error message (the loader adds the key path, the line and what
 * was found). Defaults live here and nowhere else; docs/configuration.md lists them.
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../core/logger.js';
import type { ListenSpec } from '../transport/types.js';
import type { TimerConfig } from '../transaction/types.js';
import {
  DEFAULT_PORTS,
  formatHostPort,
  isHostName,
  isIpLiteral,
  portValue,
  splitHostPort,
  splitListen,
} from './address.js';

const POSITIVE = 'a positive integer';
const NON_NEGATIVE = 'an integer >= 0';
const PORT = 'a port number from 0 to 65535';
const MAPPING = { error: 'a mapping' };
const BIND_HOST = 'an IP address to bind (IPv4, IPv6, 0.0.0.0 or ::)';

function positiveInt(expected = POSITIVE) {
  return z.int({ error: expected }).positive({ error: expected });
}

function nonNegativeInt(expected = NON_NEGATIVE) {
  return z.int({ error: expected }).nonnegative({ error: expected });
}

const portSchema = z.int({ error: PORT }).min(0, { error: PORT }).max(65535, { error: PORT });

/** Brackets around an IPv6 literal are accepted where a bare host is expected. */
function unbracket(value: unknown): unknown {
  return typeof value === 'string' && value.startsWith('[') && value.endsWith(']')
    ? value.slice(1, -1)
    : value;
}

const bindHost = z.preprocess(
  unbracket,
  z.string({ error: BIND_HOST }).refine(isIpLiteral, { error: BIND_HOST }),
);

const hostName = z.preprocess(
  unbracket,
  z
    .string({ error: 'an IP address or host name' })
    .refine(isHostName, { error: 'an IP address or host name' }),
);

/** A `host[:port]` string becomes `{ host, port }` so one object schema checks both forms. */
function hostPortObject(value: unknown, ctx: z.core.ParsePayload): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  const split = splitHostPort(value.trim());
  if (!split.ok) {
    ctx.issues.push({ code: 'custom', message: split.expected, input: value });
    return value;
  }
  return split.value.port === undefined
    ? { host: split.value.host }
    : { host: split.value.host, port: portValue(split.value.port) };
}

/** Where Via and Record-Route point instead of the bound address (NAT, a VIP held elsewhere). */
const advertiseSchema = z.preprocess(
  hostPortObject,
  z
    .strictObject(
      { host: hostName, port: portSchema.optional() },
      { error: 'host[:port] or { host, port }' },
    )
    .transform((a): { host: string; port?: number } =>
      a.port === undefined ? { host: a.host } : { host: a.host, port: a.port },
    ),
);

const listenObject = z
  .strictObject(
    {
      proto: z.enum(['udp', 'tcp', 'tls', 'ws', 'wss'], { error: 'one of udp, tcp, tls, ws, wss' }),
      host: bindHost,
      port: portSchema.optional(),
      advertise: advertiseSchema.optional(),
    },
    { error: 'proto:host:port or { proto, host, port, advertise }' },
  )
  .transform((o): ListenSpec => {
    const spec: ListenSpec = {
      protocol: o.proto,
      host: o.host.toLowerCase(),
      port: o.port ?? DEFAULT_PORTS[o.proto],
    };
    if (o.advertise) {
      spec.advertise = o.advertise;
    }
    return spec;
  });

/** One `listen` entry: `udp:127.0.0.1:5060`, `udp:[::1]:5060 as 203.0.113.5` or an object. */
export const listenEntrySchema = z.preprocess((value, ctx) => {
  if (typeof value !== 'string') {
    return value;
  }
  const split = splitListen(value);
  if (!split.ok) {
    ctx.issues.push({ code: 'custom', message: split.expected, input: value });
    return value;
  }
  const { proto, host, port, advertise } = split.value;
  const entry: Record<string, unknown> = { proto, host };
  if (port !== undefined) {
    entry['port'] = portValue(port);
  }
  if (advertise !== undefined) {
    entry['advertise'] = advertise;
  }
  return entry;
}, listenObject);

const DEFAULT_LISTEN: readonly ListenSpec[] = [
  { protocol: 'udp', host: '127.0.0.1', port: 5060 },
  { protocol: 'tcp', host: '127.0.0.1', port: 5060 },
];

/** A name (or address) the proxy answers to, with an optional port; the host is lower-cased. */
const aliasSchema = z.preprocess(
  hostPortObject,
  z
    .strictObject({ host: hostName, port: portSchema.optional() }, { error: 'host[:port]' })
    .transform((a): { host: string; port?: number } => {
      const host = a.host.toLowerCase();
      return a.port === undefined ? { host } : { host, port: a.port };
    }),
);

/** An `ip:port` (IPv6 in brackets) or `{ host, port }`, both required. */
const ipEndpoint = z.preprocess(
  hostPortObject,
  z.strictObject({ host: bindHost, port: portSchema }, { error: 'ip:port or { host, port }' }),
);

const logSchema = z.strictObject(
  {
    level: z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    format: z
      .enum(['json', 'pretty', 'auto'], { error: 'one of json, pretty, auto' })
      .default('auto'),
  },
  MAPPING,
);

const timersSchema = z
  .strictObject(
    {
      t1: positiveInt().default(500),
      t2: positiveInt().default(4000),
      t4: positiveInt().default(5000),
      timer_b: positiveInt().optional(),
      timer_f: positiveInt().optional(),
      timer_c: positiveInt().default(180000),
    },
    MAPPING,
  )
  .superRefine((t, ctx) => {
    // RFC 3261 §17.1.2.2: requests are retransmitted at doubling intervals from T1 capped at
    // T2, so a T1 above T2 makes no sense.
    if (t.t1 > t.t2) {
      ctx.addIssue({
        code: 'custom',
        path: ['t1'],
        message: `at most timers.t2 (${t.t2} ms)`,
        input: t.t1,
      });
    }
  })
  .transform((t) => ({
    t1: t.t1,
    t2: t.t2,
    t4: t.t4,
    // RFC 3261 §17.1.1.2 / §17.1.2.2: Timers B and F default to 64*T1.
    timer_b: t.timer_b ?? 64 * t.t1,
    timer_f: t.timer_f ?? 64 * t.t1,
    timer_c: t.timer_c,
  }));

const limitsSchema = z.strictObject(
  {
    max_head_bytes: positiveInt().default(32768),
    max_body_bytes: positiveInt().default(65536),
    max_headers: positiveInt().default(256),
    max_connections: positiveInt().default(4096),
    tcp_idle_timeout: positiveInt().default(300),
    tcp_connect_timeout: positiveInt().default(10),
    // SO_RCVBUF for UDP sockets; 0 keeps the system default (the kernel caps it at rmem_max).
    udp_recv_buffer: nonNegativeInt().default(4194304),
    // RFC 3261 §16.6 item 3: Max-Forwards is added when absent, with 70 recommended; the
    // header's value is 0-255 (§20.22 is silent, §25.1 grammar is 1*DIGIT; 255 is the usual cap).
    max_forwards: z
      .int({ error: 'an integer from 1 to 255' })
      .min(1, { error: 'an integer from 1 to 255' })
      .max(255, { error: 'an integer from 1 to 255' })
      .default(70),
  },
  MAPPING,
);

const filePath = z.string({ error: 'a file path' }).min(1, { error: 'a file path' });

const tlsSchema = z
  .strictObject(
    {
      cert: filePath.optional(),
      key: filePath.optional(),
      ca: filePath.optional(),
      verify_peer: z.boolean({ error: 'true or false' }).default(false),
      require_client_cert: z.boolean({ error: 'true or false' }).default(false),
    },
    MAPPING,
  )
  .superRefine((tls, ctx) => {
    if (tls.cert !== undefined && tls.key === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['key'],
        message: 'a key file alongside tls.cert',
        input: undefined,
      });
    }
    if (tls.key !== undefined && tls.cert === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cert'],
        message: 'a certificate alongside tls.key',
        input: undefined,
      });
    }
  });

const DNS_SERVER = 'a DNS server address, ip[:port] with IPv6 in brackets (port 1-65535)';

/**
 * Kept as the operator wrote it: the DNS client (src/transport/dns-client.ts) takes these
 * strings and parses them itself; checking them here makes a typo fail at start-up with a line.
 */
const dnsServer = z
  .string({ error: DNS_SERVER })
  .trim()
  .refine(
    (text) => {
      const split = splitHostPort(text);
      if (!split.ok || !isIpLiteral(split.value.host)) {
        return false;
      }
      const port = split.value.port === undefined ? 53 : portValue(split.value.port);
      return typeof port === 'number' && port >= 1 && port <= 65535;
    },
    { error: DNS_SERVER },
  );

const dnsSchema = z.strictObject(
  {
    servers: z.array(dnsServer, { error: 'a list of ip[:port]' }).default(() => []),
    cache_size: nonNegativeInt().default(10000),
  },
  MAPPING,
);

const ENV_NAME = 'an environment variable name ([A-Za-z_][A-Za-z0-9_]*)';

const miSchema = z
  .strictObject(
    {
      listen: ipEndpoint.default(() => ({ host: '127.0.0.1', port: 8888 })),
      enabled: z.boolean({ error: 'true or false' }).default(true),
      // The bearer token protecting /mi and /metrics: read from a file or from the environment.
      token_file: filePath.optional(),
      token_env: z
        .string({ error: ENV_NAME })
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: ENV_NAME })
        .optional(),
      body_limit: positiveInt('a positive number of bytes').default(1048576),
    },
    MAPPING,
  )
  .superRefine((mi, ctx) => {
    if (mi.token_file !== undefined && mi.token_env !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['token_env'],
        message: 'either mi.token_file or mi.token_env, not both',
        input: mi.token_env,
      });
    }
  });

const EVENT_NAME = 'an event name (E_ followed by upper-case letters, digits, underscores)';
const WEBHOOK_URL = 'an http:// or https:// URL';

const webhookSchema = z.strictObject(
  {
    url: z
      .string({ error: WEBHOOK_URL })
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
        error: WEBHOOK_URL,
      }),
    events: z
      .union(
        [
          z.literal('*'),
          z
            .array(z.string().regex(/^E_[A-Z0-9_]+$/, { error: EVENT_NAME }), {
              error: '"*" or a list of event names',
            })
            .min(1, { error: 'at least one event name' }),
        ],
        { error: '"*" or a list of event names' },
      )
      .default('*'),
    timeout: z
      .number({ error: 'a number of seconds > 0' })
      .positive({ error: 'a number of seconds > 0' })
      .default(2),
    queue_size: positiveInt().default(1000),
    headers: z
      .record(z.string(), z.string({ error: 'a string' }), {
        error: 'a mapping of header names to values',
      })
      .optional(),
  },
  { error: 'a mapping with url and events' },
);

/** The event interface: where events are sent (webhooks for now). */
const eventsSchema = z.strictObject(
  {
    webhooks: z.array(webhookSchema, { error: 'a list of webhooks' }).default(() => []),
  },
  MAPPING,
);

const NODE_URL = 'bin:IP:PORT or bins:IP:PORT';
/** `bin:` is TCP, `bins:` TLS with mutual authentication; IPv6 in brackets. */
const NODE_URL_RE = /^(bins?):(\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d{1,5})$/;

/** One provisioned node of `clusterer.clusters[].nodes` (also a Redis hash value). */
export const clustererNodeSchema = z.strictObject(
  {
    node_id: positiveInt(),
    url: z
      .string({ error: NODE_URL })
      .refine((u) => NODE_URL_RE.test(u) && Number(NODE_URL_RE.exec(u)?.[3]) <= 65535, {
        error: NODE_URL,
      }),
    sip_addr: z.string({ error: 'a SIP address (sip:host:port) or ""' }).default(''),
    priority: z.int({ error: 'an integer' }).default(0),
    flags: z.array(z.enum(['seed'], { error: 'seed' }), { error: 'a list of flags' }).default([]),
    description: z.string({ error: 'a string' }).default(''),
    tls_name: z.string({ error: 'a certificate name' }).min(1).optional(),
  },
  MAPPING,
);

const clusterSchema = z.strictObject(
  {
    cluster_id: positiveInt(),
    nodes: z.array(clustererNodeSchema, { error: 'a list of nodes' }).default([]),
  },
  MAPPING,
);

const TAG_SPEC = 'name/cluster_id=active or name/cluster_id=backup';
const CLUSTER_TAG_RE = /^([^/\s=]+)\/(\d+)$/;

/**
 * The `clusterer` section (src/cluster/config.ts reads it): this node, its clusters and their
 * nodes, heartbeat timers, sharing tags and where nodes are provisioned.
 */
export const clustererSchema = z
  .strictObject(
    {
      my_node_id: positiveInt(),
      clusters: z
        .array(clusterSchema, { error: 'a list of clusters' })
        .min(1, { error: 'at least one cluster' }),
      tls: z
        .strictObject({ cert: filePath, key: filePath, ca: filePath }, { error: 'cert, key, ca' })
        .optional(),
      ping_interval: positiveInt().default(4),
      ping_timeout: positiveInt().default(1000),
      no_ping_retries: positiveInt().default(3),
      node_timeout: positiveInt().default(60),
      /**
       * Seconds a seed node waits for a donor, counted from when its modules are ready, before
       * it declares its capabilities synced with what it holds.
       */
      seed_fallback_interval: nonNegativeInt().default(5),
      /** Seconds without sync data before a transfer is given up and retried elsewhere. */
      sync_timeout: positiveInt().default(15),
      enable_rerouting: z.boolean({ error: 'true or false' }).default(true),
      sharing_tags: z
        .array(
          z.string({ error: TAG_SPEC }).regex(/^[^/\s=]+\/\d+=(active|backup)$/, {
            error: TAG_SPEC,
          }),
          { error: `a list of ${TAG_SPEC}` },
        )
        .default([]),
      sharing_tag_options: z
        .record(
          z.string().regex(CLUSTER_TAG_RE, { error: 'a tag name/cluster_id' }),
          z.strictObject(
            { failover: z.enum(['manual', 'auto'], { error: 'manual or auto' }).default('manual') },
            MAPPING,
          ),
          { error: 'a mapping of name/cluster_id to options' },
        )
        .default({}),
      provisioning: z.enum(['config', 'redis'], { error: 'config or redis' }).default('config'),
      redis_url: z.string({ error: 'a redis:// URL' }).optional(),
      /** Key of a cluster's hash: the prefix followed by the cluster id. */
      redis_key_prefix: z.string({ error: 'a string' }).default('tandem:cluster:'),
    },
    MAPPING,
  )
  .superRefine((c, ctx) => {
    const clusterIds = new Set<number>();
    c.clusters.forEach((cl, i) => {
      if (clusterIds.has(cl.cluster_id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i, 'cluster_id'],
          message: 'a cluster id not listed before',
          input: cl.cluster_id,
        });
      }
      clusterIds.add(cl.cluster_id);
      const nodeIds = new Set<number>();
      cl.nodes.forEach((n, j) => {
        if (nodeIds.has(n.node_id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'nodes', j, 'node_id'],
            message: 'a node id not listed before in this cluster',
            input: n.node_id,
          });
        }
        nodeIds.add(n.node_id);
        if (n.url.startsWith('bins:') && c.tls === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'nodes', j, 'url'],
            message: 'a clusterer.tls block (cert, key, ca) for this bins: node',
            input: n.url,
          });
        }
      });
      if (c.provisioning === 'config' && !nodeIds.has(c.my_node_id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i, 'nodes'],
          message: `this node (my_node_id ${c.my_node_id}) among the nodes`,
          input: cl.nodes.map((n) => n.node_id),
        });
      }
    });
    const tagIssue = (path: (string | number)[], tag: string): void => {
      const id = Number(CLUSTER_TAG_RE.exec(tag)?.[2]);
      if (!clusterIds.has(id)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'a tag of a configured cluster',
          input: tag,
        });
      }
    };
    c.sharing_tags.forEach((spec, i) => {
      tagIssue(['sharing_tags', i], spec.split('=')[0]!);
    });
    for (const tag of Object.keys(c.sharing_tag_options)) {
      tagIssue(['sharing_tag_options', tag], tag);
    }
    if (c.provisioning === 'redis' && c.redis_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis_url'],
        message: 'a redis:// URL when provisioning is redis',
        input: undefined,
      });
    }
  });

const moduleParams = z.preprocess(
  (value) => value ?? {},
  z.record(z.string(), z.unknown(), { error: 'a mapping of parameter names to values' }),
);

/** The schema of the whole file. Parse with `{ reportInput: true }` so errors can say what was found. */
export const configSchema = z
  .strictObject(
    {
      listen: z
        .array(listenEntrySchema, { error: 'a list of listen sockets' })
        .min(1, { error: 'at least one listen socket' })
        .default(() => DEFAULT_LISTEN.map((l) => ({ ...l }))),
      aliases: z.array(aliasSchema, { error: 'a list of host[:port]' }).default(() => []),
      log: logSchema.prefault({}),
      timers: timersSchema.prefault({}),
      limits: limitsSchema.prefault({}),
      tls: tlsSchema.optional(),
      dns: dnsSchema.prefault({}),
      script: filePath.default('routes.ts'),
      data_dir: filePath.default('data'),
      module_path: filePath.optional(),
      shutdown_grace: z
        .number({ error: 'a number of seconds >= 0' })
        .nonnegative({ error: 'a number of seconds >= 0' })
        .default(5),
      mi: miSchema.prefault({}),
      events: eventsSchema.prefault({}),
      modules: z
        .record(z.string(), moduleParams, { error: 'a mapping of module names to parameters' })
        .default(() => ({})),
      /** The cluster (src/cluster/config.ts); absent: a standalone node. */
      clusterer: clustererSchema.optional(),
    },
    MAPPING,
  )
  .superRefine((config, ctx) => {
    checkListenTls(config.listen, config.tls, ctx);
    checkListenDuplicates(config.listen, ctx);
  });

type Ctx = z.core.$RefinementCtx;

/** A tls or wss listener cannot start without a certificate and its key. */
function checkListenTls(
  listen: readonly ListenSpec[],
  tls: { cert?: string | undefined; key?: string | undefined } | undefined,
  ctx: Ctx,
): void {
  const secured = tls?.cert !== undefined && tls.key !== undefined;
  listen.forEach((spec, i) => {
    if ((spec.protocol === 'tls' || spec.protocol === 'wss') && !secured) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen', i],
        message: `a tls block with cert and key for this ${spec.protocol} listener`,
        input: tls,
        params: { got: tls === undefined ? 'no tls block' : 'a tls block without cert and key' },
      });
    }
  });
}

/**
 * Two entries that would bind the same socket fail at start-up with EADDRINUSE; say so now.
 * TCP, TLS, WS and WSS all bind TCP sockets, so they share one port space.
 */
function checkListenDuplicates(listen: readonly ListenSpec[], ctx: Ctx): void {
  const seen = new Map<string, number>();
  listen.forEach((spec, i) => {
    if (spec.port === 0) {
      return;
    }
    const kernel = spec.protocol === 'udp' ? 'udp' : 'tcp';
    const key = `${kernel} ${formatHostPort(spec.host, spec.port)}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: ['listen', i],
      message: 'a socket not listed before',
      input: spec,
      params: { got: `the same ${kernel.toUpperCase()} socket as listen[${first}]` },
    });
  });
}

/** The validated, normalised configuration, with defaults filled in. */
export type TandemConfig = z.output<typeof configSchema>;

/** What a config file may contain before defaults (all keys optional). */
export type TandemConfigInput = z.input<typeof configSchema>;

/** The RFC 3261 §17 timers in the shape the transaction layer takes. */
export function timerConfig(config: TandemConfig): TimerConfig {
  const { t1, t2, t4, timer_b, timer_f } = config.timers;
  return { t1, t2, t4, timerB: timer_b, timerF: timer_f };
}

/** `log.format: auto` means pretty on a terminal and JSON otherwise (pipes, journald, files). */
export function usePrettyLogs(config: TandemConfig, stdoutIsTty: boolean): boolean {
  return config.log.format === 'pretty' || (config.log.format === 'auto' && stdoutIsTty);
}
