/**
 * The framer and the parser together, as a TCP connection uses them: messages cut from a
 * stream at arbitrary chunk boundaries parse to exactly what the same bytes parse to whole.
 */
import fc from 'fast-check';
import t from 'tap';
import { isSipParseError } from '../../src/core/errors.js';
import { StreamFramer } from '../../src/sip/framer.js';
import { parseMessage, validateMessage, type SipMessage } from '../../src/sip/index.js';
import { INVITE, REGISTER } from '../fixtures/messages.js';
import { corpusFiles, readCorpus } from '../helpers/corpus.js';

/** Corpus messages a proxy accepts and that carry a Content-Length (streams require it). */
const streamable: Buffer[] = [Buffer.from(INVITE, 'latin1'), Buffer.from(REGISTER, 'latin1')];
for (const name of corpusFiles()) {
  const buf = readCorpus(name);
  try {
    const m = parseMessage(buf);
    validateMessage(m);
    if (m.has('content-length')) {
      streamable.push(m.toBuffer());
    }
  } catch (err) {
    if (!isSipParseError(err)) {
      throw err;
    }
  }
}

function fields(m: SipMessage): string {
  return JSON.stringify([
    m.startLine(),
    m.headers.map((h) => [h.name, h.value]),
    m.body.toString('latin1'),
  ]);
}

t.test('the corpus yields enough stream-framable messages to test with', async (t) => {
  t.ok(streamable.length >= 20, `${streamable.length} messages`);
});

t.test(
  'messages framed from arbitrary chunks parse as they do whole (RFC 3261 §18.3)',
  async (t) => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...streamable), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (msgs, cuts, keepalives) => {
          const stream = Buffer.concat(
            msgs.flatMap((m) => (keepalives ? [Buffer.from('\r\n\r\n'), m] : [m])),
          );
          const got: string[] = [];
          const framer = new StreamFramer({
            onMessage: (buf) => {
              const m = parseMessage(buf, { datagram: false });
              validateMessage(m);
              got.push(fields(m));
            },
            onPing: () => undefined,
            onPong: () => undefined,
            onError: (err) => {
              throw err;
            },
          });
          let at = 0;
          let k = 0;
          while (at < stream.length) {
            const n = cuts[k++ % cuts.length] ?? 1;
            framer.push(stream.subarray(at, at + n));
            at += n;
          }
          const want = msgs.map((m) => fields(parseMessage(m)));
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error('framed messages differ from whole ones');
          }
        },
      ),
      { numRuns: 300 },
    );
    t.pass('300 random streams framed and parsed');
  },
);
