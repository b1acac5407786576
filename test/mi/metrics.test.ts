/** The metrics exporter: statistics as counters and gauges, the observer's histograms. */
import { Registry } from 'prom-client';
import t from 'tap';
import { StatsRegistry } from '../../src/core/stats.js';
import { LeanHistogram } from '../../src/mi/histogram.js';
import { Metrics } from '../../src/mi/metrics.js';

t.test('statistics registered before and after appear, read at scrape time', async (t) => {
  const stats = new StatsRegistry();
  const core = { rcv_requests: 1 };
  stats.fields('core', core, ['rcv_requests']);
  const metrics = new Metrics(stats, { defaultMetrics: false });
  const gauge = stats.cell('usrloc', 'registered_users', 'gauge', 'AoRs');
  gauge.value = 7;
  core.rcv_requests = 5;
  let text = await metrics.text();
  t.match(text, /^tandem_core_rcv_requests 5$/m);
  t.match(text, /^# TYPE tandem_usrloc_registered_users gauge$/m);
  t.match(text, /^tandem_usrloc_registered_users 7$/m);
  core.rcv_requests = 0;
  text = await metrics.text();
  t.match(text, /^tandem_core_rcv_requests 0$/m, 'a reset counter restarts from zero');
  t.match(metrics.contentType, /^text\/plain/);
});

t.test(
  'the observer fills the histograms; odd methods are "other", bad values ignored',
  async (t) => {
    const metrics = new Metrics(new StatsRegistry(), { defaultMetrics: false });
    const o = metrics.observer;
    o.requestProcessed!('INVITE', 2);
    o.requestProcessed!('XFOO', 0.1);
    o.requestProcessed!('INVITE', -1);
    o.requestProcessed!('INVITE', Number.NaN);
    o.transactionEnded!('server', 'INVITE', 1500);
    o.transactionEnded!('client', 'BOGUS', 20);
    o.transactionEnded!('client', 'BYE', -5);
    const text = await metrics.text();
    t.match(text, /^tandem_request_processing_seconds_count\{method="INVITE"\} 1$/m);
    t.match(text, /^tandem_request_processing_seconds_sum\{method="INVITE"\} 0\.002$/m);
    t.match(text, /^tandem_request_processing_seconds_count\{method="other"\} 1$/m);
    t.match(
      text,
      /^tandem_transaction_duration_seconds_count\{side="server",method="INVITE"\} 1$/m,
    );
    t.match(
      text,
      /^tandem_transaction_duration_seconds_bucket\{le="2\.5",side="server",method="INVITE"\} 1$/m,
    );
    t.match(text, /^tandem_transaction_duration_seconds_count\{side="client",method="other"\} 1$/m);
    t.notMatch(text, /method="BYE"/, 'a series appears only once observed');
  },
);

t.test('the lean histogram prints cumulative buckets, +Inf, sum and count; resets', async (t) => {
  const registry = new Registry();
  const h = new LeanHistogram('x_seconds', 'x', ['k'], [0.1, 1], registry);
  const a = h.child('a');
  h.child('unused');
  a(0.05);
  a(0.1);
  a(0.5);
  a(7);
  const text = await registry.metrics();
  t.equal(
    text,
    [
      '# HELP x_seconds x',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.1",k="a"} 2',
      'x_seconds_bucket{le="1",k="a"} 3',
      'x_seconds_bucket{le="+Inf",k="a"} 4',
      'x_seconds_sum{k="a"} 7.65',
      'x_seconds_count{k="a"} 4',
      '',
    ].join('\n'),
  );
  t.match(await registry.getMetricsAsJSON(), [{ name: 'x_seconds', type: 'histogram' }]);
  registry.resetMetrics();
  t.equal(await registry.metrics(), '# HELP x_seconds x\n# TYPE x_seconds histogram\n');
});
